/**
 * `failclosed merge DIR…`: the shards of one campaign (`run --shard i/n`, each on its own machine)
 * judged as the campaign. Each shard's report folder holds its result.json (with the `shard` slice:
 * what it covered, what its system offered) and its signed kit; the merge checks they belong to one
 * campaign (same seed, profile, level and shard count, every shard once), verifies every kit, adds
 * up what the shards observed, and decides the verdict with the same code as a single run — a
 * failure in any shard is the campaign's failure, and a missing or unverifiable shard makes the
 * merge inconclusive, never compliant.
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { History } from '../../model/history.ts';
import type { Capability } from '../../conformance/driver.ts';
import { PROFILES, isProfileName } from '../../conformance/profiles.ts';
import type { FailureReport } from '../../conformance/run-control/campaign.ts';
import type { Level } from '../../conformance/run-control/levels.ts';
import { isLevel } from '../../conformance/run-control/levels.ts';
import type { RunReport } from '../../conformance/run-control/report.ts';
import { buildRunReport } from '../../conformance/run-control/report.ts';
import type { TallyView } from '../../conformance/run-control/verdict.ts';
import type { Threat } from '../../conformance/threats.ts';
import { writeKit } from '../evidence/kit.ts';
import type { KitSummary } from '../evidence/kit.ts';
import { verifyKit } from '../evidence/verify.ts';
import type { PluginInvariant } from '../../model/invariants/plugins.ts';
import { REPORT_FILES, writeReportFolder } from './report-folder.ts';
import type { ResultDocument } from './result-json.ts';
import { RESULT_VERSION } from './result-json.ts';

export class MergeError extends Error {
  override name = 'MergeError';
}

interface ShardFolder {
  dir: string;
  result: ResultDocument & { shard: NonNullable<ResultDocument['shard']> };
}

function readShard(dir: string): ShardFolder {
  const file = join(dir, REPORT_FILES.result);
  if (!existsSync(file)) throw new MergeError(`${dir} holds no ${REPORT_FILES.result}: give the report folders \`failclosed run --shard i/n\` wrote`);
  let result: ResultDocument;
  try {
    result = JSON.parse(readFileSync(file, 'utf8')) as ResultDocument;
  } catch (error) {
    throw new MergeError(`${file} is not JSON: ${(error as Error).message}`);
  }
  if (result.schema !== RESULT_VERSION) throw new MergeError(`${file} is not a ${RESULT_VERSION} document`);
  if (!result.shard) throw new MergeError(`${file} is not from a shard: its run had no --shard i/n`);
  return { dir, result: result as ShardFolder['result'] };
}

/** The failure as a shard's result.json tells it (its model paths are in its counterexample.json). */
function failureOf(shard: ShardFolder): FailureReport | undefined {
  const f = shard.result.failure;
  if (!f) return undefined;
  let modelPaths: string[] = [];
  const counterexample = join(shard.dir, 'counterexample.json');
  if (existsSync(counterexample)) {
    try {
      modelPaths = (JSON.parse(readFileSync(counterexample, 'utf8')) as { report?: RunReport }).report?.failure?.modelPaths ?? [];
    } catch {
      modelPaths = [];
    }
  }
  const { replayCommand: _replay, ...rest } = f;
  return { ...rest, modelPaths };
}

export interface MergedShards {
  report: RunReport;
  reportDir: string;
  reportHtml: string;
  kit: KitSummary;
  /** the counterexample of the shard that failed, copied beside the merged report */
  counterexampleFile?: string;
  replayCommand?: string;
}

/** The plug-in invariants a shard's result.json reports (plugin: true), in its order. */
const pluginIdsOf = (shard: ShardFolder) => Object.entries(shard.result.invariants).filter(([, v]) => v.plugin).map(([id]) => id);

export async function mergeShards(dirs: readonly string[], outDir: string, options: { invariants?: readonly PluginInvariant[] } = {}): Promise<MergedShards> {
  if (dirs.length === 0) throw new MergeError('give the report folders of the shards');
  const shards = dirs.map((d) => readShard(resolve(d))).sort((a, b) => a.result.shard.index - b.result.shard.index);
  const first = shards[0]!.result;
  for (const s of shards) {
    const r = s.result;
    const same = r.seed === first.seed && r.profile === first.profile && r.level.requested === first.level.requested && r.shard.count === first.shard.count;
    if (!same) {
      throw new MergeError(
        `${s.dir} is not of the same campaign as ${shards[0]!.dir}: seed ${r.seed}, profile ${r.profile}, level ${r.level.requested}, ${r.shard.count} shards against seed ${first.seed}, profile ${first.profile}, level ${first.level.requested}, ${first.shard.count} shards`,
      );
    }
  }
  // The shards' plug-in invariants must be given again: merge re-judges them on every kit's histories.
  const given = (options.invariants ?? []).map((p) => p.id);
  for (const s of shards) {
    const ids = pluginIdsOf(s);
    if (ids.join(',') !== given.join(',')) {
      throw new MergeError(
        `${s.dir} was judged with the plug-in invariants [${ids.join(', ')}], and the merge was given [${given.join(', ')}]: give merge the same --invariants files as the shards, in the same order`,
      );
    }
  }
  const indexes = shards.map((s) => s.result.shard.index);
  const duplicate = indexes.find((i, k) => indexes.indexOf(i) !== k);
  if (duplicate !== undefined) throw new MergeError(`shard ${duplicate} of ${first.shard.count} was given twice`);
  const count = first.shard.count;
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !indexes.includes(i));
  if (!isProfileName(first.profile)) throw new MergeError(`unknown profile ${first.profile}`);
  const level = first.level.requested;
  if (!isLevel(level)) throw new MergeError(`unknown level ${String(level)}`);

  // Every kit must verify on its own: a merge never rests on evidence that does not.
  const histories: History[] = [];
  const unverified: string[] = [];
  const pluginExamined = new Map<string, number>();
  for (const s of shards) {
    const verified = await verifyKit(join(s.dir, 'kit'), { keepHistories: true, ...(options.invariants?.length ? { invariants: options.invariants } : {}) });
    if (!verified.ok) unverified.push(`shard ${s.result.shard.index} (${s.dir}/kit: ${verified.notAKit?.problem ?? 'it does not verify'})`);
    histories.push(...(verified.histories ?? []));
    for (const run of verified.runs) {
      for (const v of run.invariants) if (given.includes(v.invariant)) pluginExamined.set(v.invariant, (pluginExamined.get(v.invariant) ?? 0) + v.examined);
    }
  }

  const sum = (pick: (r: ShardFolder['result']) => number) => shards.reduce((n, s) => n + pick(s.result), 0);
  const exercised = new Map<Threat, number>();
  const notTested = new Map<string, string>();
  const coverage = new Set<string>();
  const contractFindings: { threat: Threat; message: string }[] = [];
  for (const s of shards) {
    for (const t of s.result.shard.covered) coverage.add(t);
    for (const n of s.result.notTested) notTested.set(n.scenario, n.needs);
    for (const [threat, n] of Object.entries(s.result.shard.exercised)) exercised.set(threat as Threat, (exercised.get(threat as Threat) ?? 0) + n);
    for (const c of s.result.contractFindings) if (contractFindings.length < 20) contractFindings.push(c);
  }
  const tally: TallyView = {
    coverage,
    notTested,
    exercised,
    contractFindings,
    contractFindingCount: sum((r) => r.counts.contractFindings),
    unprovokedTimeoutCount: sum((r) => r.counts.unprovokedTimeouts),
    unprovokedTimeouts: shards.flatMap((s) => s.result.unprovokedTimeouts).slice(0, 20),
    steps: sum((r) => r.counts.steps),
    effects: sum((r) => r.counts.effects),
    runs: sum((r) => r.counts.runs),
    randomRuns: sum((r) => r.counts.randomRuns),
    shrinkRuns: sum((r) => r.counts.shrinkRuns),
    histories: histories.length,
    preludeScenarios: sum((r) => r.counts.preludeScenarios),
    judgedHistories: sum((r) => r.shard.judgedHistories),
    timing: { preludeMs: sum((r) => r.timing.preludeMs), randomMs: sum((r) => r.timing.randomMs), shrinkMs: sum((r) => r.timing.shrinkMs) },
    pluginExamined,
  };
  const failing = shards.find((s) => s.result.failure);
  const failure = failing ? failureOf(failing) : undefined;
  // What every shard's system offered (they are one kind of system).
  const capabilities = new Set<Capability>(first.shard.capabilities as Capability[]);
  for (const s of shards) for (const c of [...capabilities]) if (!s.result.shard.capabilities.includes(c)) capabilities.delete(c);
  const requestedRuns = sum((r) => r.campaign.requestedRuns);
  const explicitRuns = shards.some((s) => s.result.campaign.explicitRuns);
  const problems = [
    ...(missing.length > 0 ? [`shard${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of ${count} ${missing.length === 1 ? 'is' : 'are'} missing: the campaign is not complete`] : []),
    ...(unverified.length > 0 ? [`the kit of ${unverified.join('; ')} does not verify`] : []),
  ];
  const report = buildRunReport({
    tally,
    failure,
    level: level as Level,
    profile: PROFILES[first.profile],
    capabilities,
    target: first.target,
    seed: first.seed,
    campaign: {
      requestedRuns,
      explicitRuns,
      stoppedBy: failure ? 'failure' : shards.some((s) => s.result.campaign.stoppedBy === 'time budget') ? 'time budget' : 'all runs done',
      timeBudgetMs: first.campaign.timeBudgetMs,
      extendedForFloor: shards.some((s) => s.result.campaign.extendedForFloor),
      windows: first.campaign.windows,
      parallel: sum((r) => r.campaign.parallel),
    },
    ...(explicitRuns && !failure && tally.randomRuns < requestedRuns ? { unfinished: `${requestedRuns} random runs were requested but only ${tally.randomRuns} ran in the shards` } : {}),
    ...(problems.length > 0 ? { unobservable: problems.join('; ') } : {}),
    ...(options.invariants?.length ? { pluginInvariants: options.invariants } : {}),
    durationMs: shards.reduce((m, s) => Math.max(m, s.result.durationMs), 0),
  });
  const merged: RunReport = { ...report, target: `${first.target} (${shards.length} of ${count} shards merged)` };

  const reportDir = resolve(outDir);
  const counterexampleFile = failing && existsSync(join(failing.dir, 'counterexample.json')) ? join(reportDir, 'counterexample.json') : undefined;
  const replayCommand = counterexampleFile ? `npx failclosed replay ${counterexampleFile}` : undefined;
  await writeReportFolder(reportDir, merged, { histories, ...(replayCommand ? { replayCommand } : {}) });
  if (counterexampleFile) copyFileSync(join(failing!.dir, 'counterexample.json'), counterexampleFile);
  const kit = await writeKit(join(reportDir, 'kit'), histories, { target: merged.target, seed: merged.seed, profile: merged.profile, verdict: merged.verdict });
  return { report: merged, reportDir, reportHtml: join(reportDir, REPORT_FILES.html), kit, ...(counterexampleFile ? { counterexampleFile } : {}), ...(replayCommand ? { replayCommand } : {}) };
}

