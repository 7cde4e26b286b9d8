/**
 * Plug-in drivers: a gate that does not speak the HTTP contract — a library, a CLI — reached by a
 * user's adapter. The adapter is an InProcessTarget (conformance/in-process-target.ts): it builds
 * the gate on the environment the harness hands it (its Control Plane link, effect sink, stores,
 * Execution Layer interceptor, clock) and answers submit / executeDirect. The harness then drives
 * it exactly as it drives the embedded reference in-process.
 *
 * An adapter declares the capabilities its gate really has: a gate that keeps its own nonce store
 * cannot have the harness's store faults injected, so 'nonce-store-down' must not be claimed —
 * what is not claimed is reported not tested, never passed.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Capability } from '../../conformance/driver.ts';
import type { InProcessEnvironment, InProcessSystem, InProcessTarget } from '../../conformance/in-process-target.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import type { InProcessDriverOptions } from './in-process.ts';
import { ALL_CAPABILITIES, InProcessDriver } from './in-process.ts';

export type DriverOptions = { [key: string]: JsonValue };

export interface PluginDriver {
  /** how reports name the system under test */
  name: string;
  /** what the adapted gate lets the harness do (default: everything the environment offers) */
  capabilities?: readonly Capability[];
  /** builds the gate on the harness's environment: at the start, after each reset and each crash */
  start(env: InProcessEnvironment, options: DriverOptions): InProcessSystem;
}

export class PluginDriverError extends Error {
  override name = 'PluginDriverError';
}

export function validatePluginDriver(value: unknown, source: string): PluginDriver {
  if (typeof value !== 'object' || value === null) throw new PluginDriverError(`${source}: its default export is not a driver (defineDriver from failclosed/api)`);
  const v = value as Partial<Record<keyof PluginDriver, unknown>>;
  if (typeof v.name !== 'string' || v.name.trim() === '') throw new PluginDriverError(`${source}: the driver has no name`);
  if (typeof v.start !== 'function') throw new PluginDriverError(`${source}: the driver ${v.name} has no start function`);
  if (v.capabilities !== undefined) {
    const unknown = Array.isArray(v.capabilities) ? v.capabilities.filter((c) => !(ALL_CAPABILITIES as readonly unknown[]).includes(c)) : ['(not an array)'];
    if (unknown.length > 0) throw new PluginDriverError(`${source}: the driver ${v.name} claims unknown capabilities ${unknown.join(', ')} (known: ${ALL_CAPABILITIES.join(', ')})`);
  }
  return value as PluginDriver;
}

/** The module's default export (or a named `driver`), checked. */
export async function loadPluginDriver(file: string): Promise<PluginDriver> {
  const path = resolve(file);
  if (!existsSync(path)) throw new PluginDriverError(`${path}: no such file`);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new PluginDriverError(`${path} cannot be loaded: ${(error as Error).message}`);
  }
  return validatePluginDriver(module.default ?? module.driver, path);
}

/** The in-process driver over a plug-in's gate, with only the capabilities it claims. */
export class AdapterDriver extends InProcessDriver {
  override readonly capabilities: ReadonlySet<Capability>;
  override readonly target: string;
  constructor(plugin: PluginDriver, options: DriverOptions, harness: InProcessDriverOptions) {
    const target: InProcessTarget = { name: plugin.name, start: (env) => plugin.start(env, options) };
    super(target, harness);
    this.capabilities = new Set(plugin.capabilities ?? ALL_CAPABILITIES);
    this.target = `${plugin.name} (plug-in driver)`;
  }
}
