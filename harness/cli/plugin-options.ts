/** `--invariants FILE…` as run, verify and merge take it: the loaded plug-ins, or the CLI's error. */
import type { LoadedInvariants } from '../api/load-plugins.ts';
import { loadInvariantFiles } from '../api/load-plugins.ts';
import { PluginError } from '../../model/invariants/plugins.ts';
import type { CommandIO } from './command.ts';

/** The plug-in invariants the files export (none without files), or the exit status of a clear error. */
export async function invariantsOption(files: readonly string[] | undefined, io: CommandIO): Promise<LoadedInvariants | number> {
  if (!files?.length) return { files: [], invariants: [] };
  try {
    return await loadInvariantFiles(files);
  } catch (error) {
    if (!(error instanceof PluginError)) throw error;
    return io.fail(error.message, 'give --invariants a module that exports defineInvariant(…) values (see docs/extending/invariants.md)');
  }
}
