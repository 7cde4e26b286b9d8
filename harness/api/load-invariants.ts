/**
 * `--invariants FILE`: plug-in invariants from the user's own modules (TypeScript or JavaScript —
 * the CLI runs under tsx, so a .ts file is imported as it is). Every file is checked whole before
 * a run starts, so a broken plug-in is a usage error, never a verdict about the gate.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PluginInvariant } from '../../model/invariants/plugins.ts';
import { PluginError, validatePluginInvariants } from '../../model/invariants/plugins.ts';
import { invariantsOfModule } from './index.ts';

export interface LoadedInvariants {
  invariants: PluginInvariant[];
  /** the files, absolute: what a counterexample records so that replay loads them again */
  files: string[];
}

export async function loadInvariantFiles(files: readonly string[], cwd = process.cwd()): Promise<LoadedInvariants> {
  const absolute = files.map((f) => resolve(cwd, f));
  const invariants: PluginInvariant[] = [];
  for (const file of absolute) {
    if (!existsSync(file)) throw new PluginError(`${file}: no such file`);
    let module: Record<string, unknown>;
    try {
      module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (error) {
      throw new PluginError(`${file} cannot be loaded: ${(error as Error).message}`);
    }
    invariants.push(...invariantsOfModule(module, file));
  }
  // Ids unique across the files too.
  return { invariants: validatePluginInvariants(invariants, files.join(', ')), files: absolute };
}
