/**
 * `--invariants FILE` and `--commands FILE`: plug-ins from the user's own modules (TypeScript or
 * JavaScript — the CLI runs under tsx, so a .ts file is imported as it is). Every file is checked
 * whole before a run starts, so a broken plug-in is a usage error, never a verdict about the gate.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PluginInvariant } from '../../model/invariants/plugins.ts';
import { PluginError, validatePluginInvariants } from '../../model/invariants/plugins.ts';
import { invariantsOfModule } from './index.ts';
import type { PluginCommand } from '../../conformance/commands/plugin-commands.ts';
import { PluginCommandError, validatePluginCommands } from '../../conformance/commands/plugin-commands.ts';

export interface LoadedInvariants {
  invariants: PluginInvariant[];
  /** the files, absolute: what a counterexample records so that replay loads them again */
  files: string[];
}

async function importFile(file: string, fail: (message: string) => Error): Promise<Record<string, unknown>> {
  if (!existsSync(file)) throw fail(`${file}: no such file`);
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw fail(`${file} cannot be loaded: ${(error as Error).message}`);
  }
}

export async function loadInvariantFiles(files: readonly string[], cwd = process.cwd()): Promise<LoadedInvariants> {
  const absolute = files.map((f) => resolve(cwd, f));
  const invariants: PluginInvariant[] = [];
  for (const file of absolute) {
    const module = await importFile(file, (m) => new PluginError(m));
    invariants.push(...invariantsOfModule(module, file));
  }
  // Ids unique across the files too.
  return { invariants: validatePluginInvariants(invariants, files.join(', ')), files: absolute };
}

export interface LoadedCommands {
  commands: PluginCommand[];
  /** absolute: a counterexample records them, and replay needs the same commands to follow its path */
  files: string[];
}

/** A module's commands: its default export (one or an array), then a named `commands` array. */
export async function loadCommandFiles(files: readonly string[], cwd = process.cwd()): Promise<LoadedCommands> {
  const absolute = files.map((f) => resolve(cwd, f));
  const found: unknown[] = [];
  for (const file of absolute) {
    const module = await importFile(file, (m) => new PluginCommandError(m));
    const before = found.length;
    const take = (value: unknown) => (Array.isArray(value) ? found.push(...value) : value !== undefined && found.push(value));
    take(module.default);
    if (module.commands !== module.default) take(module.commands);
    if (found.length === before) throw new PluginCommandError(`${file} exports no commands: export default [defineCommand(…), …] (or export const commands = […])`);
  }
  return { commands: validatePluginCommands(found, files.join(', ')), files: absolute };
}
