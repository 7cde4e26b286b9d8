/** `failclosed replay FILE`: re-runs one recorded counterexample exactly. */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { CommandSpec } from './command.ts';
import type { CounterexampleFile } from './run-command.ts';
import { COUNTEREXAMPLE_VERSION, executeRun } from './run-command.ts';

export const replayCommand: CommandSpec = {
  name: 'replay',
  summary: 're-run a counterexample written by failclosed run',
  usage: 'failclosed replay FILE',
  details: [
    'FILE   a counterexample or run report written by `failclosed run` (its target, profile,',
    '       seed and fast-check path are in it)',
    '',
    'A failure found in the random phase is replayed exactly (seed, path and command replay path);',
    'one found in the prelude re-runs the prelude, which is deterministic. Plug-ins the run loaded',
    '(--invariants, --commands, --driver) are loaded again from the files it recorded.',
    'Exit status: as for run — 1 when the counterexample still fails, 0 when it no longer does.',
  ],
  options: {},
  positionals: true,
  async run(_values, io, positionals) {
    const [file, ...extra] = positionals;
    if (!file || extra.length > 0) return io.usageError('give exactly one FILE');
    let document: CounterexampleFile;
    try {
      document = JSON.parse(readFileSync(file, 'utf8')) as CounterexampleFile;
    } catch (error) {
      return io.fail(`cannot read ${file}: ${(error as Error).message}`, 'give the counterexample.json a failing `failclosed run` wrote (it prints the replay command)');
    }
    if (document?.version !== COUNTEREXAMPLE_VERSION || !document.report) {
      return io.fail(`${file} is not a ${COUNTEREXAMPLE_VERSION} file`, 'give the counterexample.json a failing `failclosed run` wrote (it prints the replay command)');
    }
    const failure = document.report.failure;
    if (!failure) return io.fail(`${file} records a run that did not fail: there is nothing to replay`, 'replay the counterexample.json of a run that failed');
    // The replay's own report goes beside the counterexample it replays.
    const report = join(dirname(resolve(file)), `replay-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const plugins = {
      ...(document.invariantFiles?.length ? { invariantFiles: document.invariantFiles } : {}),
      ...(document.commandFiles?.length ? { commandFiles: document.commandFiles } : {}),
    };
    if (failure.phase === 'prelude' || !failure.path) {
      return executeRun(io, document.target, { profile: document.profile, ...(document.level ? { level: document.level } : {}), seed: failure.seed, runs: 0, report, ...plugins });
    }
    return executeRun(io, document.target, {
      profile: document.profile,
      ...(document.level ? { level: document.level } : {}),
      report,
      ...plugins,
      replay: { seed: failure.seed, path: failure.path, ...(failure.replayPath ? { replayPath: failure.replayPath } : {}) },
    });
  },
};
