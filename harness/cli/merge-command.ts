/** `failclosed merge DIR…`: the report folders of a sharded campaign judged as one run. */
import { join } from 'node:path';
import { formatRunReport } from '../report-text.ts';
import { MergeError, mergeShards } from '../reports/merge-shards.ts';
import { reportDirProblem } from '../reports/run-evidence.ts';
import type { CommandSpec } from './command.ts';
import { invariantsOption } from './plugin-options.ts';
import { PluginError } from '../../model/invariants/plugins.ts';

export const mergeCommand: CommandSpec = {
  name: 'merge',
  summary: 'judge the shards of one campaign (run --shard i/n) as one run: one verdict, report and kit',
  usage: 'failclosed merge DIR… [--report OUT] [--invariants FILE]…',
  details: [
    'DIR…          the report folders the shards wrote (`failclosed run --shard i/n --seed S --report DIR`)',
    '--report OUT  where to write the merged report folder (default failclosed-report/merged-seed-<seed>);',
    '              it must be new or empty',
    '--invariants FILE  the plug-in invariants the shards were run with (the same files, in the same',
    '              order): re-judged on every shard\'s kit and reported in the merged report',
    '',
    'The shards must be one campaign: the same --seed, profile, level and shard count, every shard',
    'once. Each shard\'s kit is verified; the merged kit holds every shard\'s histories, signed anew. A',
    'failure in any shard is the campaign\'s (its counterexample.json is copied beside the merged',
    'report and replays as before); a missing shard or a kit that does not verify is inconclusive.',
    '',
    'A CI matrix: n jobs `failclosed run … --shard ${i}/n --seed S --report shard-${i}` (exit 0 when',
    'nothing failed in the slice, 1 on a failure), their folders as artifacts, then one job',
    '`failclosed merge shard-*` whose exit status is the campaign\'s.',
    '',
    'Exit status: 0 compliant, 1 non-compliant, 2 inconclusive or a usage error.',
  ],
  options: { report: { type: 'string' }, invariants: { type: 'string', multiple: true } },
  positionals: true,
  async run(values, io, positionals) {
    if (positionals.length === 0) return io.usageError('give the report folders of the shards');
    let out = typeof values.report === 'string' ? values.report : undefined;
    try {
      if (!out) {
        const { readFileSync } = await import('node:fs');
        const seed = (JSON.parse(readFileSync(join(positionals[0]!, 'result.json'), 'utf8')) as { seed?: number }).seed;
        out = join('failclosed-report', `merged-seed-${seed ?? 'unknown'}`);
      }
    } catch {
      out = join('failclosed-report', `merged-${Date.now()}`);
    }
    const problem = reportDirProblem(out);
    if (problem) return io.fail(problem, 'give --report a new or empty folder, or remove that one');
    const loaded = await invariantsOption(Array.isArray(values.invariants) ? (values.invariants as string[]) : undefined, io);
    if (typeof loaded === 'number') return loaded;
    const invariants = loaded.invariants;
    let merged;
    try {
      merged = await mergeShards(positionals, out, { invariants });
    } catch (error) {
      if (error instanceof MergeError) return io.fail(error.message, 'give the report folders of every shard of one campaign (run --shard i/n with the same --seed)');
      if (error instanceof PluginError) return io.fail(`a plug-in invariant failed, not the shards: ${error.message}`, 'fix the plug-in (its predicate must not throw and must name witnesses inside the history)');
      throw error;
    }
    io.out(
      formatRunReport(merged.report, {
        reportHtml: merged.reportHtml,
        kit: { dir: merged.kit.dir, histories: merged.kit.runs, files: merged.kit.files, harnessKeyId: merged.kit.harnessKeyId },
        ...(merged.replayCommand ? { replayCommand: merged.replayCommand } : {}),
      }),
    );
    return merged.report.exitCode;
  },
};
