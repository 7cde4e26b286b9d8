/**
 * Memory across time (CONTRACT.md sections 3 and 5): what a system claimed or consumed must still
 * be refused after its clock has moved — forward by amounts drawn around every edge (a minute, just
 * inside and just past one acceptance window, just inside two), backwards again, and across a
 * crash-restart at each of those times.
 *
 * The claimed request is signed on the last second of the window ahead of the Gate's clock, so it
 * is still fresh after the clock moved almost two windows forward: only the Gate's memory can deny
 * its replay then. A replay whose timestamp did leave the window fails two checks, and the model
 * accepts either code (TIMESTAMP_STALE or REPLAY_DETECTED). The Control Plane stands ready to
 * approve every replay with an envelope valid on the moved clock, so a Gate that forgot executes
 * it — an INV-3 violation with its effect, not just a wrong code.
 */
import type { Answers } from '../../model/concrete-scenario.ts';
import { concreteEnvelope, concreteRequest } from '../../model/concrete-scenario.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { predictDirectCall, predictRequest } from '../../model/predict.ts';
import { approvalRememberedUntil, mayHaveForgotten, nonceRememberedUntil } from '../../model/system-memory.ts';
import { envelopeWindowAnswer, timestampAnswer, unixSeconds } from '../../model/time.ts';
import type { Capability } from '../driver.ts';
import { ACTION } from '../run-context.ts';
import type { RunContext } from '../run-context.ts';
import type { Tagged } from '../threats.ts';
import { callTimed, judgeTimed, sendTimed } from './timed.ts';

/** Away from every edge, a clock the harness cannot place is taken to agree with its own within this. */
const TOLERANCE_MS = 2_000;

export interface NonceJump {
  /** the claimed request's timestamp: the Gate's now, or the last second of the window ahead of it */
  signedAt: 'now' | 'window-ahead';
  /** how far the system's clock then moves forward, in seconds */
  forwardSec: number;
  /** crash and restart the system once its clock has moved */
  restart: boolean;
  /** then move the clock back to the harness's time and replay once more */
  back: boolean;
}

export interface ApprovalJump {
  forwardSec: number;
  restart: boolean;
  /** then move the clock past the envelope's expiry, and back, using the approval each time */
  back: boolean;
  /** also present the spent envelope straight to the Execution Layer */
  direct: boolean;
}

function lacking(ctx: RunContext, label: string, needs: Capability[]): boolean {
  const missing = needs.find((c) => !ctx.driver.capabilities.has(c));
  if (missing) ctx.notTested.set(label, missing);
  return missing !== undefined;
}

/** Without clock-offset the clock stays where it is: what can still be tested is tested at +0 s. */
async function moveClock(ctx: RunContext, offsetSec: number, say = true): Promise<number> {
  if (!ctx.driver.capabilities.has('clock-offset')) return 0;
  await ctx.driver.setClockOffset(offsetSec * 1000);
  if (say) ctx.trail.push(`the system's clock moves to ${offsetSec >= 0 ? '+' : ''}${offsetSec}s`);
  return offsetSec * 1000;
}

/** The system's whole second now, under an offset. */
const systemSec = (offsetMs: number) => unixSeconds(Date.now() + offsetMs);

/**
 * Sends `request` (its exact bytes, again) while the clock is `offsetMs` off, with the Control
 * Plane ready to approve it on that clock; judged on the seconds the system may have read.
 */
async function replayAt(ctx: RunContext, request: ClientRequest, offsetMs: number, label: string, tag: Tagged, rememberedUntil: number): Promise<void> {
  // Only memory the contract guarantees is tested: a claim past its horizon may be gone.
  if (mayHaveForgotten(rememberedUntil, systemSec(offsetMs + TOLERANCE_MS))) {
    ctx.trail.push(`${label}: not sent — the Gate may already have forgotten the claim (horizon ${rememberedUntil})`);
    return;
  }
  const w = ctx.acceptanceWindowSec;
  const g = systemSec(offsetMs);
  const approvalId = ctx.unique('approval');
  const obs = await sendTimed(ctx, request, approvalId, offsetMs, { issued_at: g - 5, expires_at: g + 60 });
  const modelRequest = { requestId: request.request_id, identity: request.identity, action: request.action, nonce: request.nonce, approvalId };
  await judgeTimed(ctx, { label, tag }, obs, (second) => predictRequest({ timestamp: timestampAnswer(request.timestamp, second, w) }, ctx.memory, modelRequest), {
    toleranceMs: TOLERANCE_MS,
  });
}

/**
 * A valid request executes (its nonce is claimed); the clock moves forward by `forwardSec`
 * [the system crashes and restarts]; the same bytes again [and once more after the clock is back].
 */
export async function replayAfterClockJump(ctx: RunContext, jump: NonceJump, tag: Tagged): Promise<void> {
  // A stable label: one "not tested" line per kind of scenario, whatever was drawn.
  const label = `replay after the clock moved${jump.restart ? ', across a restart' : ''}`;
  // What the system cannot do is not tested; the claim and its replay on the clock as it is still are.
  lacking(ctx, label, ['clock-offset', ...(jump.restart ? (['crash-restart'] as const) : [])]);
  const canMove = ctx.driver.capabilities.has('clock-offset');
  const restart = jump.restart && ctx.driver.capabilities.has('crash-restart');
  const forwardSec = canMove ? jump.forwardSec : 0;
  const w = ctx.acceptanceWindowSec;
  try {
    const g0 = systemSec(0);
    const timestamp = jump.signedAt === 'now' ? g0 : g0 + w - 1;
    const executed = await ctx.gateScenario({
      label: `a valid request signed at the Gate's now ${timestamp - g0 > 0 ? `+${timestamp - g0}s` : ''}`.trimEnd(),
      tag,
      answers: {},
      timestampSec: timestamp,
      parameters: { to: 'grace', amount: 4 },
    });
    const sent = ctx.sent.at(-1);
    if (!executed || !sent?.request) return;
    const request = sent.request;
    const until = nonceRememberedUntil(request.timestamp, g0, w);
    const offsetMs = await moveClock(ctx, forwardSec);
    if (restart) await ctx.crashAndRestart();
    const moved = canMove ? `at +${forwardSec}s` : `at once (the clock cannot be moved here, so not the +${jump.forwardSec}s drawn)`;
    await replayAt(ctx, request, offsetMs, `replay of ${request.request_id} ${moved}`, tag, until);
    if (jump.back && canMove) {
      await moveClock(ctx, 0);
      await replayAt(ctx, request, 0, `replay of ${request.request_id} with the clock back at +0s`, tag, until);
    }
  } finally {
    await moveClock(ctx, 0, false);
  }
}

/**
 * An approval is spent; the clock moves forward by `forwardSec` (its envelope still valid)
 * [the system crashes and restarts]; a new request (new nonce, same request id) comes back with
 * the same envelope: ENVELOPE_REPLAYED, and straight at the Execution Layer too. [Then the clock
 * moves past the envelope's expiry — ENVELOPE_EXPIRED — and back: ENVELOPE_REPLAYED again.]
 */
export async function approvalAfterClockJump(ctx: RunContext, jump: ApprovalJump, tag: Tagged): Promise<void> {
  const label = `approval used again after the clock moved${jump.restart ? ', across a restart' : ''}${jump.direct ? ', straight at the Execution Layer too' : ''}`;
  const needs: Capability[] = ['clock-offset', ...(jump.restart ? (['crash-restart'] as const) : []), ...(jump.direct ? (['direct-execution'] as const) : [])];
  lacking(ctx, label, needs);
  // What the system cannot do is left out (and said above); the rest is tested, at +0 s without clock-offset.
  const canMove = ctx.driver.capabilities.has('clock-offset');
  const forwardSec = canMove ? jump.forwardSec : 0;
  const restart = jump.restart && ctx.driver.capabilities.has('crash-restart');
  const direct = jump.direct && ctx.driver.capabilities.has('direct-execution');
  const w = ctx.acceptanceWindowSec;
  try {
    const g0 = systemSec(0);
    // Valid for two windows: every use below but the one past expiry is inside it.
    const window = { issued_at: g0 - 5, expires_at: g0 + 2 * w };
    const requestId = ctx.unique('req');
    const approvalId = ctx.unique('approval');
    const parameters = { to: 'heidi', amount: 6 };
    const executed = await ctx.gateScenario({ label: `first use of approval ${approvalId}`, tag, answers: {}, requestId, approvalId, parameters, envelope: { window } });
    if (!executed) return;
    const until = approvalRememberedUntil(window.expires_at, g0, w);
    const useAgain = async (offsetMs: number, what: string) => {
      if (mayHaveForgotten(until, systemSec(offsetMs + TOLERANCE_MS))) return;
      const g = systemSec(offsetMs);
      const request = concreteRequest({}, { request_id: requestId, action: ACTION, parameters, nonce: ctx.nonce() }, g, w) as ClientRequest;
      const obs = await sendTimed(ctx, request, approvalId, offsetMs, window);
      const modelRequest = { requestId, identity: request.identity, action: ACTION, nonce: request.nonce, approvalId };
      const answersAt = (second: number): Answers => ({ timestamp: timestampAnswer(request.timestamp, second, w), envelopeWindow: envelopeWindowAnswer(window, second) });
      await judgeTimed(ctx, { label: `${what}: a new request brings back approval ${approvalId}`, tag }, obs, (second) => predictRequest(answersAt(second) as never, ctx.memory, modelRequest), {
        toleranceMs: TOLERANCE_MS,
      });
    };
    const offsetMs = await moveClock(ctx, forwardSec);
    if (restart) await ctx.crashAndRestart();
    await useAgain(offsetMs, `at +${forwardSec}s`);
    if (direct && !mayHaveForgotten(until, systemSec(offsetMs + TOLERANCE_MS))) {
      const envelope = concreteEnvelope({}, { request_id: requestId, identity: 'alice', action: ACTION, parameters }, approvalId, 0, { window }) as unknown as JsonValue;
      const call: JsonValue = { envelope, request_id: requestId, identity: 'alice', action: ACTION, parameters };
      const obs = await callTimed(ctx, call, requestId, offsetMs);
      await judgeTimed(
        ctx,
        { label: `at +${forwardSec}s: the spent envelope of ${approvalId}, straight to the Execution Layer`, tag },
        obs,
        (second) => predictDirectCall({ envelopeWindow: envelopeWindowAnswer(window, second) }, ctx.memory, { approvalId, requestId }),
        { chart: 'executionLayer', toleranceMs: TOLERANCE_MS },
      );
    }
    if (jump.back && canMove) {
      const past = window.expires_at - g0 + 10;
      await useAgain(await moveClock(ctx, past), `at +${past}s, past its expiry`);
      await useAgain(await moveClock(ctx, 0), 'with the clock back at +0s');
    }
  } finally {
    await moveClock(ctx, 0, false);
  }
}

/**
 * The Execution Layer keeps the system's clock too (CONTRACT.md section 9, clock): with the clock
 * moved by `offsetSec`, a request approved on that clock executes, and an envelope current only on
 * the harness's own clock is refused when presented straight to the Execution Layer.
 */
export async function executionLayerOnSystemClock(ctx: RunContext, offsetSec: number, tag: Tagged): Promise<void> {
  const label = `the Execution Layer on the system's clock at ${offsetSec >= 0 ? '+' : ''}${offsetSec}s`;
  if (lacking(ctx, "the Execution Layer on the system's clock", ['clock-offset'])) return;
  const w = ctx.acceptanceWindowSec;
  try {
    const offsetMs = await moveClock(ctx, offsetSec);
    const g = systemSec(offsetMs);
    const window = { issued_at: g - 5, expires_at: g + 60 };
    const request = concreteRequest({}, { request_id: ctx.unique('req'), action: ACTION, parameters: { to: 'ivan', amount: 7 }, nonce: ctx.nonce() }, g, w) as ClientRequest;
    const approvalId = ctx.unique('approval');
    const obs = await sendTimed(ctx, request, approvalId, offsetMs, window);
    const modelRequest = { requestId: request.request_id, identity: request.identity, action: ACTION, nonce: request.nonce, approvalId };
    await judgeTimed(
      ctx,
      { label: `${label}: a request approved on the system's clock`, tag },
      obs,
      (second) => predictRequest({ timestamp: timestampAnswer(request.timestamp, second, w), envelopeWindow: envelopeWindowAnswer(window, second) }, ctx.memory, modelRequest),
      { toleranceMs: TOLERANCE_MS },
    );
    if (!ctx.driver.capabilities.has('direct-execution')) {
      ctx.notTested.set("the Execution Layer on the system's clock: an envelope current only on the harness's clock", 'direct-execution');
      return;
    }
    const h = systemSec(0);
    const harnessWindow = { issued_at: h - 5, expires_at: h + 60 };
    const requestId = ctx.unique('direct');
    const parameters = { to: 'mallory', amount: 8 };
    const directApproval = ctx.unique('approval');
    const envelope = concreteEnvelope({}, { request_id: requestId, identity: 'alice', action: ACTION, parameters }, directApproval, 0, { window: harnessWindow }) as unknown as JsonValue;
    const call: JsonValue = { envelope, request_id: requestId, identity: 'alice', action: ACTION, parameters };
    const direct = await callTimed(ctx, call, requestId, offsetMs);
    await judgeTimed(
      ctx,
      { label: `${label}: an envelope current only on the harness's clock, straight to the Execution Layer`, tag: { threat: 'bypass', invariants: ['INV-6'] } },
      direct,
      (second) => predictDirectCall({ envelopeWindow: envelopeWindowAnswer(harnessWindow, second) }, ctx.memory, { approvalId: directApproval, requestId }),
      { chart: 'executionLayer', toleranceMs: TOLERANCE_MS },
    );
  } finally {
    await moveClock(ctx, 0, false);
  }
}
