/**
 * junit.xml: what CI systems show as tests. One case per invariant × threat scenario at stake
 * (THREAT_INVARIANTS) and one per invariant for "history" (the INV predicates over every recorded
 * history); a case fails when the run's failure names it, is skipped when it was not tested. One
 * more case carries the verdict, so that an inconclusive run is never shown all green.
 */
import type { RunReport } from '../../conformance/runner.ts';
import { THREATS } from '../../conformance/threats.ts';
import { isProfileInvariant } from '../../model/invariants/plugins.ts';
import { escapeMarkup as esc } from './escape.ts';
import type { ScenarioMatrix } from './scenario-matrix.ts';
import { invariantRows } from './scenario-matrix.ts';

export interface JunitCase {
  classname: string;
  name: string;
  outcome: 'passed' | 'failed' | 'skipped' | 'error';
  message?: string;
  /** the body of the failure, error or skip element */
  details?: string;
}

export interface JunitCounts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

export function failureDetails(report: RunReport, replayCommand?: string): string {
  const f = report.failure;
  if (!f) return '';
  return [
    `${f.invariants.join(', ') || 'no invariant'} broke under ${f.threat} (${f.phase} phase${f.shrinks ? `, after ${f.shrinks} shrinks` : ''}):`,
    f.message,
    '',
    'Steps:',
    ...f.commands.map((c, i) => `  ${i + 1}. ${c}`),
    'What the system did:',
    ...f.trail.map((t) => `  - ${t}`),
    '',
    `seed ${f.seed}${f.path ? `, path ${f.path}` : ''}${f.replayPath ? `, replayPath ${f.replayPath}` : ''}`,
    ...(replayCommand ? [`replay: ${replayCommand}`] : []),
  ].join('\n');
}

export function junitCases(report: RunReport, matrix: ScenarioMatrix, replayCommand?: string): JunitCase[] {
  const details = failureDetails(report, replayCommand);
  const cases: JunitCase[] = [];
  for (const cell of matrix.cells) {
    // A failure outside THREAT_INVARIANTS is still a case, or CI would not show it at all.
    if (!cell.atStake && cell.status !== 'broken') continue;
    const base = { classname: `failclosed.${cell.invariant}`, name: cell.scenario === 'history' ? `history (${isProfileInvariant(cell.invariant) ? 'INV' : 'plug-in'} predicates over every recorded history)` : `${cell.scenario}` };
    switch (cell.status) {
      case 'broken':
        cases.push({ ...base, outcome: 'failed', message: `${cell.invariant} broke under ${cell.scenario}: ${report.failure?.message ?? ''}`, details });
        break;
      case 'not tested':
      case 'partly tested':
      case 'not reached':
        cases.push({ ...base, outcome: 'skipped', message: cell.note ?? cell.status });
        break;
      default:
        cases.push({ ...base, outcome: 'passed' });
    }
  }
  if (matrix.modelDivergence) {
    cases.push({
      classname: 'failclosed.model',
      name: matrix.modelDivergence.threat,
      outcome: 'failed',
      message: `the system's answer diverged from the model under ${matrix.modelDivergence.threat}: ${matrix.modelDivergence.message}`,
      details,
    });
  }
  // Safe denials with the wrong code break no invariant, yet break the contract: a case of their own.
  const codes = { classname: 'failclosed.contract', name: 'denial codes (CONTRACT.md section 10)' };
  if (report.contractFindings.length > 0) {
    cases.push({ ...codes, outcome: 'failed', message: `${report.counts.contractFindings} contract finding(s): ${report.contractFindings[0]!.message}`, details: report.contractFindings.map((c) => `${c.threat}: ${c.message}`).join('\n') });
  } else if (!report.failure) cases.push({ ...codes, outcome: 'passed' });
  else cases.push({ ...codes, outcome: 'skipped', message: 'not reached: the run stopped at a failure' });
  const verdict = { classname: 'failclosed.run', name: 'verdict' };
  if (report.verdict === 'compliant') cases.push({ ...verdict, outcome: 'passed' });
  // One shard proves nothing alone: its verdict is the merge's.
  else if (report.verdict === 'partial') cases.push({ ...verdict, outcome: 'skipped', message: `partial: ${report.reasons.join('; ')}` });
  else if (report.verdict === 'non-compliant') cases.push({ ...verdict, outcome: 'failed', message: `non-compliant: ${report.reasons.join('; ')}`, details });
  // Inconclusive proves nothing either way: an error, not a failure of the system under test.
  else cases.push({ ...verdict, outcome: 'error', message: `inconclusive: ${report.reasons.join('; ')}` });
  return cases;
}

export function countCases(cases: readonly JunitCase[]): JunitCounts {
  return {
    tests: cases.length,
    failures: cases.filter((c) => c.outcome === 'failed').length,
    errors: cases.filter((c) => c.outcome === 'error').length,
    skipped: cases.filter((c) => c.outcome === 'skipped').length,
  };
}

export function renderJunit(
  report: RunReport,
  matrix: ScenarioMatrix,
  options: { generatedAt: Date; targetDigest?: string; replayCommand?: string },
): string {
  const cases = junitCases(report, matrix, options.replayCommand);
  const counts = countCases(cases);
  const time = (report.durationMs / 1000).toFixed(3);
  const attrs = `tests="${counts.tests}" failures="${counts.failures}" errors="${counts.errors}" skipped="${counts.skipped}" time="${time}"`;
  const properties: [string, string | number][] = [
    ['verdict', report.verdict],
    ['exitCode', report.exitCode],
    ['seed', report.seed],
    ['profile', report.profile],
    ['profileVersion', report.profileVersion],
    ['target', report.target],
    ...(options.targetDigest ? [['targetDigest', options.targetDigest] as [string, string]] : []),
    ['level', `${report.level.requested} (${report.level.met ? 'met' : 'not met'})`],
    ['coverage', `${report.coverage.percent}% (${report.coverage.covered}/${report.coverage.total} model transitions the level reaches)`],
    ['steps', report.counts.steps],
    ['runs', report.counts.runs],
    ['randomRuns', `${report.counts.randomRuns} of ${report.campaign.requestedRuns} requested (${report.campaign.stoppedBy})`],
    ['shrinkRuns', report.counts.shrinkRuns],
    ['histories', report.counts.histories],
  ];
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="failclosed" ${attrs}>`,
    `  <testsuite name="${esc(`failclosed conformance: ${report.target}`)}" ${attrs} timestamp="${options.generatedAt.toISOString().slice(0, 19)}">`,
    '    <properties>',
    ...properties.map(([name, value]) => `      <property name="${esc(name)}" value="${esc(value)}"/>`),
    '    </properties>',
  ];
  for (const c of cases) {
    const open = `    <testcase classname="${esc(c.classname)}" name="${esc(c.name)}" time="0"`;
    const tag = c.outcome === 'failed' ? 'failure' : c.outcome === 'error' ? 'error' : c.outcome === 'skipped' ? 'skipped' : undefined;
    if (!tag) {
      lines.push(`${open}/>`);
      continue;
    }
    const type = c.outcome === 'failed' ? ` type="${esc(report.failure ? `${report.failure.invariants.join(',') || 'model'} ${report.failure.threat}` : report.verdict)}"` : '';
    const body = c.details ? `>${esc(c.details)}</${tag}>` : '/>';
    lines.push(`${open}>`, `      <${tag} message="${esc(c.message ?? '')}"${type}${body}`, '    </testcase>');
  }
  const out = [
    `${report.verdict.toUpperCase()} at level ${report.level.requested}: ${report.target}, profile ${report.profile}, seed ${report.seed}`,
    ...invariantRows(report).map((row) => `${row.id} ${row.status}${row.plugin ? ' (plug-in)' : ''}: ${row.statement}`),
    ...report.reasons.map((r) => `why: ${r}`),
    ...matrix.notTested.map((n) => `not tested: ${n.scenario} (needs ${n.needs}${n.threat ? `; ${n.threat}: ${THREATS[n.threat]}` : ''})`),
    ...(report.failure ? ['The suite stops at its first failure: what it did not judge before is skipped as not reached.'] : []),
  ];
  lines.push(`    <system-out>${esc(out.join('\n'))}</system-out>`, '  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
