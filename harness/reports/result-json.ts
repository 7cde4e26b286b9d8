/**
 * result.json: the run's outcome in a stable, versioned shape for machines (CI gates, dashboards).
 * The RunReport may grow as the suite does; this document changes only with its version, and
 * result.schema.json (beside this file) says exactly what it holds.
 */
import { readFileSync } from 'node:fs';
import type { RunReport } from '../../conformance/runner.ts';
import type { Threat } from '../../conformance/threats.ts';
import type { InvariantName } from '../../model/invariants/plugins.ts';
import type { InvariantId } from '../../model/profile/denial-codes.ts';
import type { CellStatus, Scenario, ScenarioMatrix } from './scenario-matrix.ts';
import { invariantRows } from './scenario-matrix.ts';

export const RESULT_VERSION = 'failclosed-result/3' as const;
export const RESULT_SCHEMA_FILE = new URL('result.schema.json', import.meta.url);

export interface ResultDocument {
  schema: typeof RESULT_VERSION;
  /** the RunReport version this was made from */
  runReportVersion: string;
  generatedAt: string;
  shard?: NonNullable<RunReport['shard']>;
  level: RunReport['level'];
  verdict: RunReport['verdict'];
  exitCode: RunReport['exitCode'];
  reasons: string[];
  target: string;
  /** the image digest (or another content address) of what was tested, when the caller knows it */
  targetDigest?: string;
  profile: string;
  profileVersion: string;
  seed: number;
  durationMs: number;
  counts: RunReport['counts'];
  campaign: RunReport['campaign'];
  timing: RunReport['timing'];
  coverage: RunReport['coverage'];
  /** INV-1…INV-6, then the run's plug-in invariants (plugin: true) under their own ids */
  invariants: Record<InvariantName, { status: RunReport['invariants'][InvariantId]; statement: string; note?: string; plugin?: true }>;
  /** the invariant × threat cells at stake (and any broken outside them), as junit.xml has them */
  scenarios: { invariant: InvariantName; scenario: Scenario; status: Exclude<CellStatus, 'not at stake'>; note?: string }[];
  notTested: { scenario: string; needs: string; threat: Threat | null }[];
  contractFindings: RunReport['contractFindings'];
  /** the first (up to 20) steps answered with a timeout the harness did not provoke (counts has them all) */
  unprovokedTimeouts: string[];
  failure: null | {
    invariants: InvariantName[];
    threat: Threat | 'history';
    message: string;
    commands: string[];
    trail: string[];
    phase: 'prelude' | 'random';
    seed: number;
    path?: string;
    replayPath?: string;
    shrinks: number;
    timeToDetectionMs: number;
    replayCommand?: string;
  };
}

export function buildResult(
  report: RunReport,
  matrix: ScenarioMatrix,
  options: { generatedAt: Date; targetDigest?: string; replayCommand?: string },
): ResultDocument {
  const f = report.failure;
  return {
    schema: RESULT_VERSION,
    runReportVersion: report.version,
    generatedAt: options.generatedAt.toISOString(),
    ...(report.shard ? { shard: { ...report.shard, covered: [...report.shard.covered], capabilities: [...report.shard.capabilities], exercised: { ...report.shard.exercised } } } : {}),
    ...(report.shard ? { shard: { ...report.shard, covered: [...report.shard.covered], capabilities: [...report.shard.capabilities], exercised: { ...report.shard.exercised } } } : {}),
    level: { ...report.level, levelsMet: [...report.level.levelsMet] },
    verdict: report.verdict,
    exitCode: report.exitCode,
    reasons: [...report.reasons],
    target: report.target,
    ...(options.targetDigest ? { targetDigest: options.targetDigest } : {}),
    profile: report.profile,
    profileVersion: report.profileVersion,
    seed: report.seed,
    durationMs: report.durationMs,
    counts: { ...report.counts },
    campaign: { ...report.campaign },
    timing: { ...report.timing },
    coverage: { ...report.coverage, missing: [...report.coverage.missing] },
    invariants: Object.fromEntries(
      invariantRows(report).map((row) => [row.id, { status: row.status, statement: row.statement, ...(row.note ? { note: row.note } : {}), ...(row.plugin ? { plugin: true as const } : {}) }]),
    ),
    scenarios: matrix.cells.flatMap((c) =>
      c.status === 'not at stake' ? [] : [{ invariant: c.invariant, scenario: c.scenario, status: c.status, ...(c.note ? { note: c.note } : {}) }],
    ),
    notTested: matrix.notTested.map((n) => ({ scenario: n.scenario, needs: n.needs, threat: n.threat })),
    contractFindings: report.contractFindings.map((c) => ({ ...c })),
    unprovokedTimeouts: [...report.unprovokedTimeouts],
    failure: f
      ? {
          invariants: [...f.invariants],
          threat: f.threat,
          message: f.message,
          commands: [...f.commands],
          trail: [...f.trail],
          phase: f.phase,
          seed: f.seed,
          ...(f.path !== undefined ? { path: f.path } : {}),
          ...(f.replayPath !== undefined ? { replayPath: f.replayPath } : {}),
          shrinks: f.shrinks,
          timeToDetectionMs: f.timeToDetectionMs,
          ...(options.replayCommand ? { replayCommand: options.replayCommand } : {}),
        }
      : null,
  };
}

/** The published JSON Schema of result.json. */
export function readResultSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(RESULT_SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
}
