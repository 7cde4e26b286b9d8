/**
 * A run report as plain text for a terminal or a CI log. The verdict is the last line: whatever
 * else is printed comes before it, so the last thing a reader sees is the answer.
 */
import type { RunReport } from '../conformance/runner.ts';
import { invariantRows } from './reports/scenario-matrix.ts';

export interface RunOutputPaths {
  /** the report folder's report.html */
  reportHtml?: string;
  /** the verification kit, with what it holds */
  kit?: { dir: string; histories: number; files: number; harnessKeyId: string };
  /** the command that replays the counterexample */
  replayCommand?: string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Untested scenarios grouped by what they need: one line per capability, a few examples each. */
export function notTestedLines(report: RunReport): string[] {
  const byNeed = new Map<string, string[]>();
  for (const n of report.notTested) byNeed.set(n.needs, [...(byNeed.get(n.needs) ?? []), n.scenario]);
  return [...byNeed].map(([needs, scenarios]) => {
    const shown = scenarios.slice(0, 3).join('; ');
    return `  needs ${needs}: ${scenarios.length} scenario${scenarios.length === 1 ? '' : 's'} (${shown}${scenarios.length > 3 ? '; …' : ''})`;
  });
}

export function verdictLine(report: RunReport): string {
  if (report.verdict === 'partial' && report.shard) {
    return `PARTIAL — shard ${report.shard.index}/${report.shard.count} of ${report.target}, profile ${report.profile}, seed ${report.seed}: nothing failed; merge the shards for the verdict (exit 0)`;
  }
  const level = report.verdict === 'non-compliant' ? '' : ` at level ${report.level.requested}`;
  return `${report.verdict.toUpperCase()}${level} — ${report.target}, profile ${report.profile}, seed ${report.seed} (exit ${report.exitCode})`;
}

export function formatRunReport(report: RunReport, paths: RunOutputPaths = {}): string {
  const lines: string[] = [''];
  lines.push(`Invariants (${report.profileVersion}):`);
  for (const { id, status, note, plugin } of invariantRows(report)) {
    const why = status !== 'held' && status !== 'broken' ? note : undefined;
    lines.push(`  ${id}  ${status}${plugin ? ' (plug-in)' : ''}${why ? ` — ${why}` : ''}`);
  }
  const c = report.counts;
  const camp = report.campaign;
  const random = `${c.randomRuns} random of ${camp.requestedRuns} requested (${camp.stoppedBy}${camp.extendedForFloor ? ', time extended to reach the step floor' : ''})`;
  lines.push(
    `Run: ${c.steps} steps in ${c.runs} runs — the prelude (${c.preludeScenarios} scenarios) and ${random}${c.shrinkRuns ? `, then ${c.shrinkRuns} shrink attempts` : ''}; ${c.effects} effects`,
    `Time: ${seconds(report.durationMs)} (prelude ${seconds(report.timing.preludeMs)}, random ${seconds(report.timing.randomMs)}${report.timing.shrinkMs ? `, shrinking ${seconds(report.timing.shrinkMs)}` : ''}${camp.timeBudgetMs !== null ? `; budget ${seconds(camp.timeBudgetMs)}` : ''})`,
  );
  if (camp.windows === 'continuous') lines.push('Runs were judged one after another on a system that was never reset (it offers no reset).');
  if (report.verdict !== 'non-compliant') {
    const cov = report.coverage;
    lines.push(`Model coverage: ${cov.percent}% of what level ${report.level.requested} reaches (${cov.covered}/${cov.total} transitions)`);
    if (cov.missing.length > 0) lines.push(`  not covered: ${cov.missing.slice(0, 6).join(', ')}${cov.missing.length > 6 ? `, … (${cov.missing.length} in all)` : ''}`);
  }
  const untested = notTestedLines(report);
  if (untested.length > 0) lines.push(`Not tested (${report.notTested.length} scenarios, by what they need):`, ...untested);
  if (report.contractFindings.length > 0) {
    lines.push(`Contract findings (${report.counts.contractFindings}; denied and nothing executed, but with a code of a check that did not fail — CONTRACT.md §10):`);
    for (const c of report.contractFindings.slice(0, 5)) lines.push(`  - ${c.message}`);
    if (report.counts.contractFindings > 5) lines.push(`  … (${report.counts.contractFindings - 5} more in result.json)`);
  }
  const f = report.failure;
  if (f) {
    lines.push('', `Counterexample (${f.phase} phase, ${f.commands.length} step${f.commands.length === 1 ? '' : 's'}${f.shrinks ? `, after ${f.shrinks} shrinks` : ''}; broke ${f.invariants.join(', ') || 'the model'} — threat: ${f.threat}):`);
    f.commands.forEach((cmd, i) => lines.push(`  ${i + 1}. ${cmd}`));
    lines.push('What the system did:');
    for (const t of f.trail.slice(-8)) lines.push(`  - ${t}`);
    lines.push(`seed ${f.seed}${f.path ? `, path ${f.path}` : ''}${f.replayPath ? `, replayPath ${f.replayPath}` : ''}`);
  }
  if (report.reasons.length > 0) {
    lines.push('');
    const label = report.verdict === 'inconclusive' ? 'inconclusive' : report.verdict === 'partial' ? 'partial' : 'why';
    for (const reason of report.reasons) lines.push(`${label}: ${reason}`);
  }
  lines.push('');
  if (paths.replayCommand) lines.push(`replay: ${paths.replayCommand}`);
  if (paths.reportHtml) lines.push(`report: ${paths.reportHtml}`);
  if (paths.kit) {
    lines.push(`verification kit: ${paths.kit.dir} (${paths.kit.histories} histories, ${paths.kit.files} files, signed by ${paths.kit.harnessKeyId}); check it with: npx failclosed verify ${paths.kit.dir}`);
  }
  lines.push(verdictLine(report), '');
  return lines.join('\n');
}
