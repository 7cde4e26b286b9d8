/** A run report as plain text for a terminal or a CI log. */
import type { RunReport } from '../conformance/runner.ts';

export function formatRunReport(report: RunReport, replayHint?: string): string {
  const lines: string[] = [];
  const verdict = report.verdict.toUpperCase();
  lines.push('', `${verdict} — ${report.target}, profile ${report.profile} (${report.profileVersion}), seed ${report.seed}`);
  for (const [id, status] of Object.entries(report.invariants)) lines.push(`  ${id}  ${status}`);
  lines.push(
    `  ${report.counts.steps} steps in ${report.counts.runs} runs (${report.counts.preludeScenarios} prelude scenarios), ${report.counts.effects} effects observed, ${(report.durationMs / 1000).toFixed(1)} s`,
    `  model coverage ${report.coverage.percent}% (${report.coverage.covered}/${report.coverage.total} transitions)`,
  );
  if (report.coverage.missing.length > 0) lines.push(`  not covered: ${report.coverage.missing.slice(0, 8).join(', ')}${report.coverage.missing.length > 8 ? ', …' : ''}`);
  for (const nt of report.notTested) lines.push(`  not tested: ${nt.scenario} (needs ${nt.needs})`);
  for (const reason of report.reasons) lines.push(`  ${report.verdict === 'inconclusive' ? 'inconclusive' : 'why'}: ${reason}`);
  const f = report.failure;
  if (f) {
    lines.push('', `Counterexample (${f.phase} phase, ${f.commands.length} step${f.commands.length === 1 ? '' : 's'}${f.shrinks ? `, after ${f.shrinks} shrinks` : ''}; broke ${f.invariants.join(', ')} — threat: ${f.threat}):`);
    f.commands.forEach((c, i) => lines.push(`  ${i + 1}. ${c}`));
    lines.push('What the system did:');
    for (const t of f.trail.slice(-8)) lines.push(`  - ${t}`);
    lines.push(`seed ${f.seed}${f.path ? `, path ${f.path}` : ''}${f.replayPath ? `, replayPath ${f.replayPath}` : ''}`);
    if (replayHint) lines.push(`replay: ${replayHint}`);
  }
  lines.push('');
  return lines.join('\n');
}
