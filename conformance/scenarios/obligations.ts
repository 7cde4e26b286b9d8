/**
 * Scenarios for contract obligations that no other command exercised (issue 10, class 6), each able
 * to violate exactly the rule it stands for:
 *
 * - a request signed with a key that is registered and active — for *another* identity (every
 *   other key mismatch the suite sends is an unregistered key): KEY_UNKNOWN (CONTRACT.md §3, §10);
 * - an approval's single use across a crash-restart: the Control Plane hands the Gate an approval
 *   that already executed before the crash, or the harness presents it straight to the Execution
 *   Layer after it (nonces were checked across restarts, approvals were not): ENVELOPE_REPLAYED;
 * - an aborted upload, audited by the bytes that arrived though no one is left to answer (§3);
 * - the same bytes sent twice, each a request with a trace of its own (§3, trace_id);
 * - health while the Control Plane and the Execution Layer are out of reach (§8).
 */
import type { Answers, RequestFields } from '../../model/concrete-scenario.ts';
import { concreteRequest, envelopeWindow } from '../../model/concrete-scenario.ts';
import { TEST_KEYS } from '../../model/history-builder.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalBytes } from '../../model/profile/canonical-json.ts';
import { digestJson } from '../../model/profile/digest.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { signEnvelope, signRequest } from '../../model/profile/messages.ts';
import type { RunContext } from '../run-context.ts';
import { ACTION, ConformanceFailure } from '../run-context.ts';
import type { Tagged } from '../threats.ts';
import { cover, directPrepared, effectMark, effectsSince, predictPrepared, sendPrepared } from './steps.ts';

/**
 * Who claims, and whose registered, active key signs: the key belongs to the other identity.
 * `alice-with-bob-key`: identity alice, key_id ed25519/bob, signed with bob's key (the signature
 * verifies with the key it names); `bob-with-alice-key`: the other way round.
 */
export type ForeignKeyForm = 'alice-with-bob-key' | 'bob-with-alice-key';

export async function keyOfAnotherIdentity(ctx: RunContext, form: ForeignKeyForm, tag: Tagged): Promise<void> {
  const [identity, signer] = form === 'alice-with-bob-key' ? (['alice', TEST_KEYS.bob] as const) : (['bob', TEST_KEYS.alice] as const);
  const request = signRequest(
    {
      request_id: ctx.unique('req'),
      identity,
      action: ACTION,
      parameters: { to: 'mallory', amount: 42, memo: { note: 'signed by a colleague' } },
      timestamp: ctx.nowSec(),
      nonce: ctx.nonce(),
      key_id: signer.keyId,
    },
    signer,
  );
  await sendPrepared(ctx, {
    label: `${identity}'s request signed with ${signer.keyId}, active but registered to another identity`,
    tag,
    answers: { identityKey: 'unknown' },
    body: canonicalBytes(request),
    request,
  });
}

/**
 * A request executes under approval A; the system crashes and restarts; then A comes back —
 * through the Gate (the Control Plane answers a new request with the same request id with A, as
 * `ReplayedApproval` does without a crash) or straight to the Execution Layer (a compromised
 * service replaying the envelope it saw). Either way A was consumed before the crash: denied
 * ENVELOPE_REPLAYED, nothing executes. Returns false when the system cannot be crashed here.
 */
export async function approvalReplayAfterRestart(ctx: RunContext, via: 'gate' | 'direct', tag: Tagged): Promise<boolean> {
  const label = `approval replayed ${via === 'gate' ? 'through the Gate' : 'straight to the Execution Layer'} after a crash-restart`;
  const missing = ctx.missing({}, via === 'direct' ? ['crash-restart', 'direct-execution'] : ['crash-restart']);
  if (missing) {
    ctx.notTested.set(label, missing);
    return false;
  }
  const requestId = ctx.unique('req');
  const approvalId = ctx.unique('approval');
  const parameters: JsonValue = { to: 'erin', amount: 7, memo: { note: 'once only' } };
  await ctx.gateScenario({ label: `prior history: a valid request under approval ${approvalId}`, tag: { threat: 'happy-path', invariants: [] }, answers: {}, requestId, approvalId, parameters });
  await ctx.crashAndRestart();
  if (via === 'gate') {
    // Same request id under a new nonce: the approval the Control Plane hands out again still binds it.
    await ctx.gateScenario({ label, tag, answers: {}, requestId, approvalId, parameters });
    return true;
  }
  const envelope = signEnvelope(
    {
      approval_id: approvalId,
      request_id: requestId,
      identity: 'alice',
      action: ACTION,
      parameters_digest: digestJson(parameters),
      ...envelopeWindow('current', ctx.nowSec()),
      key_id: TEST_KEYS.controlPlane.keyId,
    },
    TEST_KEYS.controlPlane,
  ) as unknown as JsonValue;
  await directPrepared(ctx, {
    label,
    tag,
    answers: {},
    call: { envelope, request_id: requestId, identity: 'alice', action: ACTION, parameters },
    approvalId,
    requestId,
  });
  return true;
}

/** How much of the body leaves before the client hangs up, and how big the body is. */
export interface AbortForm {
  /** fraction of the body sent, 0 < f < 1 */
  fraction: number;
  /** a plain request, or one whose parameters carry tens of kilobytes (several TCP segments) */
  size: 'small' | 'large';
}

/**
 * An upload abandoned mid-body: its full length announced, part of it sent, then the connection
 * closed. No one is left to answer, yet the Gate must deny it and audit it with the SHA-256 of the
 * bytes that arrived (CONTRACT.md section 3): INV-5 finds its final record by that hash.
 */
export async function abortedUpload(ctx: RunContext, form: AbortForm, tag: Tagged): Promise<void> {
  const label = `upload aborted after ${Math.round(form.fraction * 100)}% of a ${form.size} body`;
  const driver = ctx.driver;
  if (!driver.abortUpload) {
    // Every driver of this repository can abort an upload; a driver that cannot says so here.
    ctx.trail.push(`${label}: not tried — the driver cannot abort an upload`);
    return;
  }
  const fields: RequestFields = {
    request_id: ctx.unique('req'),
    action: ACTION,
    parameters: form.size === 'large' ? { to: 'bob', amount: 5, memo: { note: 'x'.repeat(40 * 1024) } } : { to: 'bob', amount: 5 },
    nonce: ctx.nonce(),
  };
  const request = concreteRequest({}, fields, ctx.nowSec(), ctx.acceptanceWindowSec) as ClientRequest;
  const body = canonicalBytes(request);
  const sentBytes = Math.min(body.length - 1, Math.max(1, Math.floor(body.length * form.fraction)));
  // What arrives is a body cut short: not strict JSON.
  const answers: Answers = { requestShape: 'malformed' };
  const predicted = predictPrepared(ctx, { answers }, ctx.unique('approval'));
  const mark = effectMark(ctx);
  await driver.abortUpload(body, sentBytes);
  const effects = effectsSince(ctx, mark);
  ctx.steps += 1;
  ctx.effectsSeen += effects;
  cover(ctx, predicted, 'gate');
  // No answer can come: the effect sink decides, and INV-5 looks for its record.
  ctx.check({ label, tag }, predicted, { status: 'indeterminate' }, effects);
}

/** What the twice-sent bytes are: a request the Gate must deny, identical both times. */
export type TwiceForm = 'bad-signature' | 'stale' | 'malformed-nonce';

const TWICE_ANSWERS: Record<TwiceForm, Answers> = {
  'bad-signature': { signature: 'invalid' },
  stale: { timestamp: 'stale' },
  'malformed-nonce': { requestShape: 'nonceMalformed' },
};

/**
 * The same bytes, sent twice one after the other: two HTTP requests, so two answers with two
 * different trace ids, and two final records (CONTRACT.md section 3: "fresh for every HTTP request
 * received"). INV-5 checks the trace ids when it judges the run.
 */
export async function sameBytesTwice(ctx: RunContext, form: TwiceForm, tag: Tagged): Promise<void> {
  const answers = TWICE_ANSWERS[form];
  const fields: RequestFields = { request_id: ctx.unique('req'), action: ACTION, parameters: { to: 'bob', amount: 2 }, nonce: ctx.nonce() };
  const request = concreteRequest(answers, fields, ctx.nowSec(), ctx.acceptanceWindowSec) as ClientRequest;
  const body = canonicalBytes(request);
  const parsed = answers.requestShape === 'nonceMalformed' ? undefined : request;
  for (const copy of ['first', 'second'] as const) {
    await sendPrepared(ctx, { label: `the same bytes sent twice (${form}), ${copy} copy`, tag, answers, body, ...(parsed ? { request: parsed } : {}) });
  }
}

/**
 * GET /healthz of every replica while the Control Plane is scripted unreachable and the Execution
 * Layer is partitioned away (when the harness can cut that link): 200 all the same — the Gate is
 * healthy when it denies (CONTRACT.md section 8).
 */
export async function healthDuringOutage(ctx: RunContext, tag: Tagged): Promise<void> {
  const driver = ctx.driver;
  if (!driver.health) {
    ctx.trail.push('health during an outage: not tried — the driver reaches no health endpoint');
    return;
  }
  const partition = driver.capabilities.has('execution-partition');
  ctx.controlPlane.answer({ answers: { controlPlane: 'unreachable' }, approvalId: ctx.unique('approval') });
  let statuses: number[];
  try {
    statuses = partition ? await ctx.withFaults(['execution-partition'], () => driver.health!()) : await driver.health();
  } finally {
    ctx.controlPlane.answer(undefined);
  }
  const line = `GET /healthz with the Control Plane unreachable${partition ? ' and the Execution Layer partitioned' : ''}: expected 200 from every replica; observed ${statuses.join(', ')}`;
  ctx.trail.push(line);
  if (statuses.some((s) => s !== 200)) throw new ConformanceFailure(tag.invariants, tag.threat, line);
}
