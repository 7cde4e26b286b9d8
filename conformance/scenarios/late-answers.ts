/**
 * Late answers: the allow that arrives after the Gate's deadline, the Execution Layer call a
 * delayed link delivers after it — and the watch on the effect sink that makes what happens then
 * visible before a run is judged.
 *
 * The harness holds both (harness/late-release.ts) until the Gate has answered its client, so they
 * come after the Gate's deadline whatever it is — declared, or unknown for a gate someone else
 * runs — then releases them `lateByMs` later and waits for them to be delivered (at once when all it
 * holds is allows whose exchange the Gate already closed: they can reach nothing). A delayed call's
 * effect is recorded by the time its delivery returns. A late allow the Gate did get is what takes
 * watching: how long is derived from the system itself — how long it took, in this campaign, to act
 * on an allow (a trusted allow's exchange to the effect it caused), four times over, within
 * [MIN_WATCH_MS, MAX_WATCH_MS]. Nothing held, nothing to wait for: a step without a late answer
 * costs nothing, and a run ends with a short fixed watch (FLOOR_WATCH_MS).
 *
 * Any effect of a request that was denied with a code that says it did not run (every code but
 * EXECUTION_UNCONFIRMED) is an INV-4 violation, told with its delay: "executed 1.8 s after the
 * Gate answered CONTROL_PLANE_TIMEOUT".
 */
import { formatDelay } from '../../model/invariants/inv-4-fail-closed.ts';
import type { Answers } from '../../model/concrete-scenario.ts';
import type { Answer } from '../driver.ts';
import type { RunContext } from '../run-context.ts';
import { ConformanceFailure } from '../run-context.ts';
import type { Tagged } from '../threats.ts';

/** The delay after the Gate's answer at which the prelude's late answers are released. */
export const DEFAULT_LATE_MS = 50;
/** The delays the random phase draws from: at once, a moment later, well after. */
export const LATE_DELAYS_MS = [0, 100, 500] as const;
/** How long the harness watches the sink after a late delivery: bounds of the derived time. */
export const MIN_WATCH_MS = 100;
export const MAX_WATCH_MS = 2_000;
/** The watch at the end of every run, before it is judged, when nothing late was delivered in it. */
export const FLOOR_WATCH_MS = 30;
/**
 * A gate that plays `execution-delayed` itself (CONTRACT.md section 9) delivers the held call
 * within this long after it answered; the harness, holding nothing, waits this long instead.
 */
export const GATE_LATE_DELIVERY_BOUND_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The only denial behind which the work may still have run. */
const MAY_HAVE_RUN = 'EXECUTION_UNCONFIRMED';

/**
 * How long the system takes to act on an allow, as seen in this run: trusted allows of the Control
 * Plane the harness plays, to the effects of requests the Gate then answered executed (an effect
 * that came late, after a delayed link, says nothing of it). Kept as the campaign's maximum.
 */
function measureDispatch(ctx: RunContext): number {
  const executedAt = new Map<string, number>();
  for (const event of ctx.recorder.events) {
    if (event.kind === 'response' && event.status === 'executed' && event.request_id !== undefined) executedAt.set(event.request_id, event.at);
  }
  const allowedAt = new Map<string, number>();
  let longest = 0;
  for (const event of ctx.recorder.events) {
    if (event.kind === 'policy' && event.answer.kind === 'allow') {
      const envelope = event.answer.envelope;
      const id = typeof envelope === 'object' && envelope !== null && !Array.isArray(envelope) ? envelope.approval_id : undefined;
      if (typeof id === 'string') allowedAt.set(id, event.at);
    } else if (event.kind === 'effect' && event.approval_id !== undefined && event.request_id !== undefined) {
      const at = allowedAt.get(event.approval_id);
      const answered = executedAt.get(event.request_id);
      if (at !== undefined && answered !== undefined && event.at <= answered) longest = Math.max(longest, event.at - at);
    }
  }
  const late = ctx.controlPlane.late;
  late.dispatchMs = Math.max(late.dispatchMs, longest);
  return late.dispatchMs;
}

/** How long to watch the sink after a late delivery, derived from the system's measured dispatch time. */
export function watchMs(ctx: RunContext): number {
  return Math.min(MAX_WATCH_MS, Math.max(MIN_WATCH_MS, 4 * measureDispatch(ctx)));
}

export interface LateStep {
  label: string;
  tag: Tagged;
  answers: Answers;
  requestId: string;
  /** how long after the Gate's answer the held answers are delivered */
  lateByMs?: number;
}

/**
 * After one request was answered: delivers what the harness held back for it, watches the sink,
 * and fails the step when the work ran after a denial that says it did not. Does nothing when
 * nothing was held (and the system does not delay its own link).
 */
export async function deliverLateAnswers(ctx: RunContext, step: LateStep, observed: Answer): Promise<void> {
  const late = ctx.controlPlane.late;
  const ownDelay = step.answers.executionLink === 'delayed' && late.held === 0;
  if (late.held === 0 && !ownDelay) return;
  const answeredAt = Date.now();
  const lateByMs = step.lateByMs ?? DEFAULT_LATE_MS;
  // An allow whose exchange the Gate already closed can reach nothing: no point in waiting for it.
  const { delivered, reachedGate } = await late.release(late.deliverable ? lateByMs : 0);
  if (ownDelay) await sleep(GATE_LATE_DELIVERY_BOUND_MS + lateByMs);
  // A delayed call's effect is in once its delivery returned; what the Gate does with a late allow it got, takes watching.
  if (reachedGate > 0) await sleep(watchMs(ctx));
  const what = ownDelay ? 'the Execution Layer call the gate delays itself was due' : `delivered ${delivered} late item(s), ${reachedGate} of them into an exchange the Gate still held open`;
  ctx.trail.push(`${step.label}: ${what} (${lateByMs} ms after the Gate answered)${reachedGate > 0 ? ', then watched the effect sink' : ''}`);
  if (observed.status !== 'denied' || observed.code === MAY_HAVE_RUN) return;
  const lateEffect = ctx.recorder.events.find((e) => e.kind === 'effect' && e.request_id === step.requestId && e.at > answeredAt);
  if (lateEffect?.kind !== 'effect') return;
  const line = `${step.label}: executed ${formatDelay(lateEffect.at - answeredAt)} after the Gate answered ${observed.code ?? 'a denial without a code'} (effect ${lateEffect.effect_id} under approval ${lateEffect.approval_id ?? 'none'}) — a denial is final`;
  ctx.trail.push(line);
  throw new ConformanceFailure(['INV-4'], step.tag.threat, line);
}

/**
 * Before a run is judged: delivers anything still held, and watches the sink — until twice the
 * derived watch past the last late answer the Gate got in this run, or FLOOR_WATCH_MS when it got
 * none — so that late effects are in the history INV-4 judges.
 */
export async function watchBeforeJudging(ctx: RunContext): Promise<void> {
  const late = ctx.controlPlane.late;
  if (late.held > 0) await late.release(0);
  await late.settle();
  const runStart = ctx.recorder.events[0]?.at ?? Date.now();
  const last = late.lastReachedGateAt;
  const until = last !== undefined && last >= runStart ? last + 2 * watchMs(ctx) : Date.now() + FLOOR_WATCH_MS;
  await sleep(Math.min(MAX_WATCH_MS, Math.max(FLOOR_WATCH_MS, until - Date.now())));
}
