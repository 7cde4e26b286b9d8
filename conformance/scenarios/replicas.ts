/**
 * Replicas under interleaving (issue 10, class 7). Several instances of a gate must behave as one:
 * a request claimed through one is claimed for all (CONTRACT.md section 9.1). The driver routes
 * each request to a replica of the scenario's choosing, so the interleavings are controlled:
 *
 * - duplicates spread over the replicas, all at once or staggered by a few milliseconds;
 * - a replay through another replica than the one that executed, after the clock moved on;
 * - one replica crashed while a request is in flight through it (mid-claim), then that request
 *   replayed through another replica: however far the first got, it executes at most once;
 * - one replica crashed while the Control Plane holds its answer to a request, the allow sent only
 *   after the restart: the crashed generation must not act on it, and the claim it made survives.
 *
 * With one replica (in-process, or a single process) the same scenarios still run on it: the
 * timing and the crash mid-request are worth as much there.
 */
import type { RequestFields } from '../../model/concrete-scenario.ts';
import { concreteRequest } from '../../model/concrete-scenario.ts';
import { predictRequest } from '../../model/predict.ts';
import { canonicalBytes } from '../../model/profile/canonical-json.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { restart } from '../../model/system-memory.ts';
import type { Answer } from '../driver.ts';
import type { RunContext } from '../run-context.ts';
import { ACTION, ConformanceFailure } from '../run-context.ts';
import type { Tagged } from '../threats.ts';
import { cover, effectMark, effectsSince, pause, sendPrepared } from './steps.ts';

/** How long after a crash mid-request the harness watches for a late effect of that request. */
export const CRASH_SETTLE_MS = 100;

function replicasOf(ctx: RunContext): number {
  return Math.max(1, ctx.driver.replicas ?? 1);
}

function validRequest(ctx: RunContext, to: string): { request: ClientRequest; body: Uint8Array } {
  const fields: RequestFields = { request_id: ctx.unique('req'), action: ACTION, parameters: { to, amount: 4 }, nonce: ctx.nonce() };
  const request = concreteRequest({}, fields, ctx.nowSec(), ctx.acceptanceWindowSec) as ClientRequest;
  return { request, body: canonicalBytes(request) };
}

/**
 * `copies` identical requests, copy i to replica i mod N, sent `staggerMs` apart (0: all at once).
 * Exactly one executes; the others are REPLAY_DETECTED.
 */
export async function spreadDuplicates(ctx: RunContext, copies: number, staggerMs: number, tag: Tagged): Promise<void> {
  const n = replicasOf(ctx);
  const { request, body } = validRequest(ctx, 'grace');
  const approvalId = ctx.unique('approval');
  const model = { requestId: request.request_id, identity: request.identity, action: ACTION, nonce: request.nonce, approvalId };
  const first = predictRequest({}, ctx.memory, model);
  const rest = predictRequest({}, first.outcome.memory, { ...model, approvalId: `${approvalId}-dup` });
  ctx.controlPlane.answer({ answers: {}, approvalId, approvalPerQuestion: true });
  const mark = effectMark(ctx);
  let answers: Answer[];
  try {
    answers = await Promise.all(
      Array.from({ length: copies }, async (_, i) => {
        if (staggerMs > 0 && i > 0) await pause(i * staggerMs);
        return ctx.driver.submit(body, { replica: i % n });
      }),
    );
  } finally {
    ctx.controlPlane.answer(undefined);
  }
  const effects = effectsSince(ctx, mark);
  ctx.steps += copies;
  ctx.effectsSeen += effects;
  cover(ctx, first, 'gate');
  cover(ctx, rest, 'gate');
  const executed = answers.filter((a) => a.status === 'executed').length;
  const replays = answers.filter((a) => a.status === 'denied' && rest.outcome.acceptableCodes.includes(a.code as never)).length;
  const timing = staggerMs > 0 ? `${staggerMs} ms apart` : 'all at once';
  const line = `${copies} copies of one request over ${n} replica(s), ${timing}: expected 1 executed, ${copies - 1} denied ${rest.outcome.acceptableCodes.join('/')}, 1 effect; observed ${executed} executed, ${replays} replay denials, ${effects} effect(s) (${answers.map((a, i) => `#${i}@r${i % n} ${a.status === 'denied' ? a.code : a.status}`).join(', ')})`;
  ctx.trail.push(line);
  ctx.sent.push({ body, request, answers: {}, approvalId, executed: executed > 0 });
  ctx.explainGroupTimeout(`${copies} copies over ${n} replica(s)`, first, answers, replays, effects);
  if (executed !== 1 || replays !== copies - 1 || effects !== 1) throw new ConformanceFailure(tag.invariants, tag.threat, line);
  ctx.memory = first.outcome.memory;
}

/**
 * How far the system's clock moves on before a replay through another replica: inside the
 * acceptance window and inside the validity of the envelope the harness's Control Plane issues on
 * its own clock (60 s), so that a replay the nonce check lets through executes rather than hitting
 * an expired envelope. Memory over longer times (up to twice the window) is tested on its own.
 */
export const REPLICA_ADVANCES_SEC = [0, 5, 30, 50] as const;

/**
 * A request executes through replica r; the system's clock moves on by `advanceSec`; its exact
 * bytes come back through replica r+1: REPLAY_DETECTED.
 */
export async function replayThroughOtherReplica(ctx: RunContext, advanceSec: number, tag: Tagged): Promise<void> {
  const label = `replay through another replica, ${advanceSec} s later`;
  if (advanceSec !== 0 && !ctx.driver.capabilities.has('clock-offset')) {
    ctx.notTested.set(label, 'clock-offset');
    return;
  }
  const n = replicasOf(ctx);
  const from = ctx.steps % n;
  const to = (from + 1) % n;
  const { request, body } = validRequest(ctx, 'heidi');
  await sendPrepared(ctx, { label: `a valid request through replica ${from}`, tag: { threat: 'happy-path', invariants: [] }, answers: {}, body, request, options: { replica: from } });
  if (advanceSec !== 0) await ctx.driver.setClockOffset(advanceSec * 1000);
  try {
    await sendPrepared(ctx, { label: `${label} (replica ${to})`, tag, answers: {}, body, request, options: { replica: to } });
  } finally {
    if (advanceSec !== 0) await ctx.driver.setClockOffset(0);
  }
}

/**
 * A valid request through one replica; `delayMs` later that replica is crashed and restarted while
 * the request may still be in flight (its claim made or not, its answer lost or not); then the same
 * bytes through another replica. Whatever the first got to, the request executes at most once: a
 * first answer "executed" means the replay is REPLAY_DETECTED, and a replay that executes means
 * the first never did. The first may be answered anything (a crash is a fault) or not at all.
 */
export async function crashMidClaim(ctx: RunContext, delayMs: number, tag: Tagged): Promise<void> {
  const label = `a replica crashed ${delayMs} ms into a request, then the request through another`;
  if (!ctx.driver.capabilities.has('crash-restart')) {
    ctx.notTested.set(label, 'crash-restart');
    return;
  }
  const n = replicasOf(ctx);
  const victim = n > 1 ? 1 + (ctx.steps % (n - 1)) : 0;
  const other = 0;
  const { request, body } = validRequest(ctx, 'ivan');
  const approvalId = ctx.unique('approval');
  const model = { requestId: request.request_id, identity: request.identity, action: ACTION, nonce: request.nonce, approvalId };
  const once = predictRequest({}, ctx.memory, model);
  const again = predictRequest({}, once.outcome.memory, { ...model, approvalId: `${approvalId}-again` });
  ctx.controlPlane.answer({ answers: {}, approvalId, approvalPerQuestion: true });
  const mark = effectMark(ctx);
  let first: Answer;
  let second: Answer;
  try {
    const inFlight = ctx.driver.submit(body, { replica: victim });
    await pause(delayMs);
    await ctx.driver.crashAndRestart({ replica: victim });
    ctx.memory = restart(ctx.memory);
    first = await inFlight;
    second = await ctx.driver.submit(body, { replica: other });
  } finally {
    ctx.controlPlane.answer(undefined);
  }
  // Nothing of the crashed generation may act after the restart: a late effect of the first shows here.
  await pause(CRASH_SETTLE_MS);
  const effects = effectsSince(ctx, mark, request.request_id);
  ctx.steps += 2;
  ctx.effectsSeen += effects;
  cover(ctx, once, 'gate');
  cover(ctx, again, 'gate');
  const shown = (a: Answer) => (a.status === 'denied' ? `denied ${a.code ?? 'with no code'}` : a.status);
  const line = `${label} (replica ${victim}, then ${other}): first ${shown(first)}, replay ${shown(second)}, ${effects} effect(s) — at most one effect; executed first ⇒ replay REPLAY_DETECTED`;
  ctx.trail.push(line);
  const replayDenied = second.status === 'denied' && again.outcome.acceptableCodes.includes(second.code as never);
  const broken =
    effects > 1 ||
    (first.status === 'executed' && !replayDenied) ||
    (second.status === 'executed' && first.status === 'executed') ||
    (second.status === 'executed' && effects !== 1) ||
    (second.status === 'denied' && !replayDenied);
  if (broken) throw new ConformanceFailure(tag.invariants, tag.threat, line);
  ctx.sent.push({ body, request, answers: {}, approvalId, executed: first.status === 'executed' || second.status === 'executed' });
  ctx.memory = once.outcome.memory;
}

/** How long the harness waits for a gate to ask the Control Plane about a valid request. */
const ASK_WAIT_MS = 5_000;

/**
 * A replica crashed while the Control Plane holds its answer to a request through it; the allow —
 * valid, bound to the request, current — goes out once the restart has answered; then the same
 * bytes through another replica. Nothing of the crashed generation may act after the restart
 * (CONTRACT.md section 9.1), so that allow must execute nothing; and the claim the first made
 * before it asked must survive the crash (section 3, *What a restart must keep*): the replay is
 * `REPLAY_DETECTED`. A gate whose restart leaves the old generation's requests running, or one
 * that forgets claims in a crash, fails here, however quickly its requests otherwise run.
 */
export async function crashAwaitingApproval(ctx: RunContext, tag: Tagged): Promise<void> {
  const label = 'a replica crashed while the Control Plane held its answer to a request, the allow sent after the restart, then the request through another';
  if (!ctx.driver.capabilities.has('crash-restart')) {
    ctx.notTested.set(label, 'crash-restart');
    return;
  }
  const n = replicasOf(ctx);
  const victim = n > 1 ? 1 + (ctx.steps % (n - 1)) : 0;
  const other = 0;
  const { request, body } = validRequest(ctx, 'judy');
  const approvalId = ctx.unique('approval');
  const model = { requestId: request.request_id, identity: request.identity, action: ACTION, nonce: request.nonce, approvalId };
  const once = predictRequest({}, ctx.memory, model);
  const again = predictRequest({}, once.outcome.memory, { ...model, approvalId: `${approvalId}-again` });
  ctx.controlPlane.answer({ answers: {}, approvalId, approvalPerQuestion: true });
  const hold = ctx.controlPlane.holdNextAnswer();
  const mark = effectMark(ctx);
  let first: Answer;
  let second: Answer;
  let asked: boolean;
  try {
    const inFlight = ctx.driver.submit(body, { replica: victim });
    let waited: NodeJS.Timeout | undefined;
    asked = await Promise.race([
      hold.asked.then(() => true),
      inFlight.then(() => false, () => false),
      new Promise<boolean>((resolve) => (waited = setTimeout(() => resolve(false), ASK_WAIT_MS))),
    ]);
    clearTimeout(waited);
    await ctx.driver.crashAndRestart({ replica: victim });
    ctx.memory = restart(ctx.memory);
    hold.release();
    first = await inFlight;
    // The allow is out: whatever the crashed generation would do with it, it does now.
    await pause(CRASH_SETTLE_MS);
    second = await ctx.driver.submit(body, { replica: other });
  } finally {
    hold.release();
    ctx.controlPlane.answer(undefined);
  }
  await pause(CRASH_SETTLE_MS);
  const effects = effectsSince(ctx, mark, request.request_id);
  ctx.steps += 2;
  ctx.effectsSeen += effects;
  cover(ctx, once, 'gate');
  cover(ctx, again, 'gate');
  const shown = (a: Answer) => (a.status === 'denied' ? `denied ${a.code ?? 'with no code'}` : a.status);
  const line = `${label} (replica ${victim}, then ${other}; ${asked ? 'asked before the crash' : 'the gate had not asked within 5 s'}): first ${shown(first)}, replay ${shown(second)}, ${effects} effect(s) — no effect; asked ⇒ replay REPLAY_DETECTED`;
  ctx.trail.push(line);
  const replayDenied = second.status === 'denied' && again.outcome.acceptableCodes.includes(second.code as never);
  const broken =
    first.status === 'executed' ||
    effects > (second.status === 'executed' ? 1 : 0) ||
    // It asked, so it had claimed: a claim acted on survives the crash.
    (asked && !replayDenied) ||
    (second.status === 'denied' && !replayDenied);
  if (broken) throw new ConformanceFailure(tag.invariants, tag.threat, line);
  ctx.sent.push({ body, request, answers: {}, approvalId, executed: second.status === 'executed' });
  ctx.memory = once.outcome.memory;
}
