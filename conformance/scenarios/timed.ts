/**
 * Requests whose right answer depends on the exact second the system reads its clock (a timestamp
 * or an envelope at the edge of its window, a replay after the clock moved), sent and judged
 * exactly and fairly:
 *
 * - **placed**: sent early in the second after the middle of a second of the system's clock —
 *   by a sub-second clock offset when the system takes one, else by waiting — so that a clock
 *   rounded instead of floored already reads the next second while a correct one does not;
 * - **located**: the system read its clock between the moment the request was sent and the moment
 *   its answer came (plus the offset the harness set). That is the harness's own clock only when
 *   both run on one machine: in-process it is so by construction; otherwise the request's own audit
 *   records (their timestamp_ms, CONTRACT.md section 7) must fall inside that round trip, or the
 *   harness cannot place the system's clock and says so (not tested, `clock-agreement`), rather than
 *   guess;
 * - **judged** against the model's prediction for every whole second of that interval: exact when
 *   it lies within one second, either answer when it straddles two (then the caller tries again,
 *   for a probe that decides something).
 */
import type { DirectCallRun, GateRun } from '../../model/predict.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalBytes } from '../../model/profile/canonical-json.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { secondsOver } from '../../model/time.ts';
import type { Answer } from '../driver.ts';
import type { RunContext } from '../run-context.ts';
import { ConformanceFailure, explainingRun, modelPathOf, unprovokedTimeoutRunsOf } from '../run-context.ts';
import type { Tagged } from '../threats.ts';

/** What a time-edge scenario needs when the harness cannot read the system's clock: a clock that agrees with its own. */
export const CLOCK_AGREEMENT = 'clock-agreement' as const;

/** Where in a second of the system's clock a placed request is sent: after the middle, with room before the next. */
export const PLACE_FROM_MS = 550;
export const PLACE_TO_MS = 750;

export interface TimedObservation {
  requestId: string;
  sendMs: number;
  answerMs: number;
  /** the clock offset the harness had set while the request was in flight */
  offsetMs: number;
  observed: Answer;
  effects: number;
}

export type TimedVerdict = 'decided' | 'either' | 'unplaced';

function effectCount(ctx: RunContext): number {
  let n = 0;
  for (const e of ctx.recorder.events) if (e.kind === 'effect') n += 1;
  return n;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Brings the system's clock to PLACE_FROM_MS…PLACE_TO_MS into a second and returns the clock offset
 * now in force (ms). With `clock-offset`, `baseOffsetMs` plus a sub-second shift; without it, by
 * waiting (the offset stays `baseOffsetMs`, i.e. 0).
 */
export async function placeInSecond(ctx: RunContext, baseOffsetMs = 0): Promise<number> {
  const canShift = ctx.driver.capabilities.has('clock-offset');
  const mod = (n: number) => ((n % 1000) + 1000) % 1000;
  const target = PLACE_FROM_MS + 30;
  let offset = baseOffsetMs;
  for (let attempt = 0; attempt < 5; attempt++) {
    const fraction = mod(Date.now() + offset);
    if (fraction >= PLACE_FROM_MS && fraction < PLACE_TO_MS) return offset;
    if (canShift) {
      offset = baseOffsetMs + mod(target - mod(Date.now() + baseOffsetMs));
      await ctx.driver.setClockOffset(offset);
    } else await sleep(mod(target - fraction) + 1);
  }
  return offset;
}

/** Sends a signed request with the Control Plane ready to allow it (an envelope with these validity times), timing the round trip. */
export async function sendTimed(
  ctx: RunContext,
  request: ClientRequest,
  approvalId: string,
  offsetMs: number,
  window: { issued_at: number; expires_at: number },
): Promise<TimedObservation> {
  ctx.controlPlane.answer({ answers: {}, approvalId, envelope: { window } });
  const before = effectCount(ctx);
  let observed: Answer;
  const sendMs = Date.now();
  try {
    observed = await ctx.driver.submit(canonicalBytes(request));
  } finally {
    ctx.controlPlane.answer(undefined);
  }
  const answerMs = Date.now();
  return { requestId: request.request_id, sendMs, answerMs, offsetMs, observed, effects: effectCount(ctx) - before };
}

/** Calls the Execution Layer directly, timing the round trip. */
export async function callTimed(ctx: RunContext, call: JsonValue, requestId: string, offsetMs: number): Promise<TimedObservation> {
  const before = effectCount(ctx);
  const sendMs = Date.now();
  const observed = await ctx.driver.callExecutionLayer(call);
  const answerMs = Date.now();
  return { requestId, sendMs, answerMs, offsetMs, observed, effects: effectCount(ctx) - before };
}

/**
 * The interval of the system's clock (ms) in which it read its clock for this request, or why the
 * harness cannot tell. `audited`: the request leaves audit records to check the clock against
 * (a direct call to the Execution Layer leaves none).
 */
export async function systemInterval(
  ctx: RunContext,
  obs: TimedObservation,
  audited = true,
): Promise<{ startMs: number; endMs: number } | { unplaced: string; detail: string }> {
  const interval = { startMs: obs.sendMs + obs.offsetMs, endMs: obs.answerMs + obs.offsetMs };
  if (ctx.driver.sharesHarnessClock) return interval;
  if (!audited) return { unplaced: 'the Execution Layer leaves no record of its clock', detail: 'a direct call is not audited' };
  if (!ctx.driver.peekAuditExport) return { unplaced: 'the harness cannot read the audit export', detail: 'the driver offers no audit export to read' };
  let exports: Awaited<ReturnType<NonNullable<typeof ctx.driver.peekAuditExport>>>;
  try {
    exports = await ctx.driver.peekAuditExport();
  } catch (error) {
    return { unplaced: 'the harness could not read the audit export', detail: (error as Error).message };
  }
  const stamps: number[] = [];
  for (const exported of exports) {
    for (const record of exported) {
      if (typeof record !== 'object' || record === null || Array.isArray(record)) continue;
      // This HTTP request's records: its trace_id when the answer named one (a replay shares its request_id with the original).
      const own = obs.observed.trace_id !== undefined ? record.trace_id === obs.observed.trace_id : record.request_id === obs.requestId;
      if (own && typeof record.timestamp_ms === 'number') stamps.push(record.timestamp_ms);
    }
  }
  if (stamps.length === 0) return { unplaced: "no audit record of the request shows the gate's clock", detail: `no record of ${obs.requestId} in the export` };
  const first = Math.min(...stamps);
  // Whole milliseconds on both sides: one of rounding.
  if (first < interval.startMs - 1 || first > interval.endMs + 1) {
    const off = first < interval.startMs ? first - interval.startMs : first - interval.endMs;
    return {
      unplaced: "the gate's audit records put its clock outside the request's round trip",
      detail: `the first record of ${obs.requestId} is stamped ${off > 0 ? '+' : ''}${off} ms outside its ${obs.answerMs - obs.sendMs} ms round trip: the gate's clock is not the harness's`,
    };
  }
  return interval;
}

/** Decision, codes and effects: what an observation is compared with. */
function outcomeKey(run: GateRun | DirectCallRun): string {
  return `${run.outcome.decision}|${[...run.outcome.acceptableCodes].sort().join(',')}|${run.outcome.effects.length}`;
}

function describe(run: GateRun | DirectCallRun): string {
  const o = run.outcome;
  return o.decision === 'executed' ? `executed, ${o.effects.length} effect(s)` : `denied with ${o.acceptableCodes.join(' or ')}, ${o.effects.length} effect(s)`;
}

function matches(run: GateRun | DirectCallRun, obs: TimedObservation, codeToo: boolean): boolean {
  const o = run.outcome;
  if (obs.effects !== o.effects.length) return false;
  if (obs.observed.status !== 'indeterminate' && obs.observed.status !== o.decision) return false;
  return !codeToo || obs.observed.status !== 'denied' || o.acceptableCodes.includes(obs.observed.code as never);
}

export interface JudgeOptions {
  chart?: 'gate' | 'executionLayer';
  /**
   * For a scenario away from any edge (a replay long after the clock moved): when the harness
   * cannot place the system's clock, assume it agrees with its own within this many ms instead of
   * leaving the step unjudged. Edge probes give none: there, only a placed clock will do.
   */
  toleranceMs?: number;
}

/**
 * Judges one timed observation against the model's prediction at every second the system may have
 * read. `decided`: the prediction was the same all through (exact); `either`: it changed within the
 * interval and the observation matched one of them (fair, but the caller may try again);
 * `unplaced`: the harness cannot tell where the system's clock was (recorded as not tested).
 * Throws a ConformanceFailure when the observation matches no prediction.
 */
export async function judgeTimed(
  ctx: RunContext,
  step: { label: string; tag: Tagged },
  obs: TimedObservation,
  predictAt: (systemSec: number) => GateRun | DirectCallRun,
  options: JudgeOptions = {},
): Promise<TimedVerdict> {
  const chart = options.chart ?? 'gate';
  let where = await systemInterval(ctx, obs, chart === 'gate');
  if ('unplaced' in where && options.toleranceMs !== undefined) {
    const tolerance = options.toleranceMs;
    where = { startMs: obs.sendMs + obs.offsetMs - tolerance, endMs: obs.answerMs + obs.offsetMs + tolerance };
  }
  const runs =
    'unplaced' in where ? [] : secondsOver(where.startMs, where.endMs).map((second) => ({ second, run: predictAt(second) }));
  ctx.effectsSeen += obs.effects;
  if ('unplaced' in where) {
    // Nothing is judged; the model's memory follows what the system did, as best it can be told.
    const run = predictAt(Math.floor((obs.sendMs + obs.offsetMs) / 1000));
    ctx.memory = run.outcome.memory;
    ctx.notTested.set(`${step.label} — ${where.unplaced}`, CLOCK_AGREEMENT);
    ctx.trail.push(`${step.label}: not judged — ${where.detail}`);
    return 'unplaced';
  }
  ctx.steps += 1;
  const distinct = [...new Map(runs.map((r) => [outcomeKey(r.run), r])).values()];
  const chosen = distinct.find((r) => matches(r.run, obs, true)) ?? distinct.find((r) => matches(r.run, obs, false));
  const label = distinct.length === 1 ? step.label : `${step.label} (the clock read ${runs[0]!.second}…${runs.at(-1)!.second} while it was in flight)`;
  for (const r of chosen ? [chosen] : distinct) for (const s of r.run.steps) ctx.coverage.add(`${chart}:${s.state}:${s.question}.${s.answer}`);
  const exact = distinct.find((r) => matches(r.run, obs, true));
  // A timeout the harness did not provoke, on any second the clock may have read (run-context.ts, judgeRequest).
  if (!exact && chart === 'gate') {
    for (const r of distinct) {
      const alternative = explainingRun(unprovokedTimeoutRunsOf(r.run as GateRun, obs.observed), obs.observed, obs.effects);
      if (alternative) ctx.acceptUnprovokedTimeout(label, alternative, obs.observed, obs.effects);
    }
  }
  if (chosen) {
    // Counts, trails and — for a safe denial with a code of no failing check — records the finding.
    ctx.check({ label, tag: step.tag }, chosen.run, obs.observed, obs.effects);
    ctx.memory = chosen.run.outcome.memory;
    return distinct.length === 1 ? 'decided' : 'either';
  }
  ctx.modelPaths.push(modelPathOf(distinct[0]!.run));
  const expected = distinct.map((r) => `${describe(r.run)}${distinct.length > 1 ? ` (clock at ${r.second})` : ''}`).join(', or ');
  const seen = obs.observed.status === 'denied' ? `denied with ${obs.observed.code ?? 'no code'}` : obs.observed.status;
  const line = `${label}: expected ${expected}; observed ${seen}, ${obs.effects} effect(s)`;
  ctx.trail.push(line);
  throw new ConformanceFailure(step.tag.invariants, step.tag.threat, line);
}
