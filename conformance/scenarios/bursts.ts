/**
 * Bursts up to the contract's limit of requests in flight (issue 10, class 5): many different
 * requests at once — valid ones, ones the Gate must deny, copies of one request — each answered,
 * decided and audited as if it had come alone (CONTRACT.md section 3, *Requests in flight*). An
 * audit pipeline that sheds records past some queue depth, a nonce store that serialises badly
 * under load, a Gate that answers one request's outcome to another: all show here, and only past
 * the load they break at — so burst sizes are drawn up to the limit, not kept small.
 */
import type { Answers, RequestFields } from '../../model/concrete-scenario.ts';
import { concreteRequest } from '../../model/concrete-scenario.ts';
import { predictRequest } from '../../model/predict.ts';
import { canonicalBytes } from '../../model/profile/canonical-json.ts';
import { utf8Encode } from '../../model/profile/encoding.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import type { Answer } from '../driver.ts';
import type { RunContext } from '../run-context.ts';
import { ACTION, ConformanceFailure } from '../run-context.ts';
import type { Tagged } from '../threats.ts';
import { cover, effectMark, effectsSince } from './steps.ts';

/**
 * How many requests a gate MUST take in flight at once, each answered and audited as if alone
 * (CONTRACT.md section 3). The harness draws burst sizes up to it.
 */
export const BURST_LIMIT = 64;

/** One member of a burst: what it is. `copy` repeats the burst's first valid request, byte for byte. */
export const BURST_MEMBERS = ['valid', 'bad-signature', 'stale', 'unknown-key', 'malformed', 'copy'] as const;
export type BurstMember = (typeof BURST_MEMBERS)[number];

const MEMBER_ANSWERS: Record<Exclude<BurstMember, 'copy'>, Answers> = {
  valid: {},
  'bad-signature': { signature: 'invalid' },
  stale: { timestamp: 'stale' },
  'unknown-key': { identityKey: 'unknown' },
  malformed: { requestShape: 'malformed' },
};

interface Planned {
  member: BurstMember;
  body: Uint8Array;
  request: ClientRequest | undefined;
  answers: Answers;
  requestId: string;
}

/**
 * All members sent at once. Every distinct request must get the model's answer and exactly its
 * own effects; of the first valid request and its copies exactly one executes and the others are
 * REPLAY_DETECTED. INV-5 then finds one final record per request sent.
 */
export async function burst(ctx: RunContext, members: readonly BurstMember[], tag: Tagged): Promise<void> {
  const now = ctx.nowSec();
  const plans: Planned[] = [];
  let original: Planned | undefined;
  for (const member of members) {
    if (member === 'copy') {
      if (!original) {
        // A copy needs something to copy: the first copy stands in as the original.
        original = plan(ctx, 'valid', now);
        plans.push(original);
      } else plans.push({ ...original, member: 'copy' });
      continue;
    }
    const p = plan(ctx, member, now);
    if (member === 'valid' && !original) original = p;
    plans.push(p);
  }
  const base = ctx.unique('approval');
  // Every question gets an allow of its own: a burst that executes one request twice shows as two effects.
  ctx.controlPlane.answer({ answers: {}, approvalId: base, approvalPerQuestion: true });
  const mark = effectMark(ctx);
  let answers: Answer[];
  try {
    answers = await Promise.all(plans.map((p) => ctx.driver.submit(p.body)));
  } finally {
    ctx.controlPlane.answer(undefined);
  }
  ctx.steps += plans.length;
  ctx.effectsSeen += effectsSince(ctx, mark);
  ctx.trail.push(`a burst of ${plans.length} requests in flight at once (${summary(members)})`);

  // The first valid request and its copies: exactly one executes.
  const group = original ? plans.map((p, i) => ({ p, a: answers[i]! })).filter(({ p }) => p.requestId === original!.requestId && p.body === original!.body) : [];
  let memory = ctx.memory;
  let i = 0;
  for (const p of plans) {
    const observed = answers[i++]!;
    if (original && p.requestId === original.requestId && p.body === original.body) continue;
    const predicted = predictRequest(p.answers as never, memory, modelRequest(p, `${base}-m${i}`));
    cover(ctx, predicted, 'gate');
    ctx.sent.push({ body: p.body, request: p.request, answers: p.answers, approvalId: `${base}-m${i}`, executed: observed.status === 'executed' });
    const judged = await ctx.judgeRequest({ label: `burst member ${i} (${p.member})`, tag }, predicted, observed, () => effectsSince(ctx, mark, p.requestId));
    memory = judged.outcome.memory;
  }
  if (original && group.length > 0) {
    const first = predictRequest({}, memory, modelRequest(original, `${base}-first`));
    const rest = predictRequest({}, first.outcome.memory, modelRequest(original, `${base}-again`));
    cover(ctx, first, 'gate');
    if (group.length > 1) cover(ctx, rest, 'gate');
    const executed = group.filter(({ a }) => a.status === 'executed').length;
    const replays = group.filter(({ a }) => a.status === 'denied' && rest.outcome.acceptableCodes.includes(a.code as never)).length;
    const effects = effectsSince(ctx, mark, original.requestId);
    const line = `burst: ${group.length} copies of request ${original.requestId}: expected 1 executed, ${group.length - 1} denied ${rest.outcome.acceptableCodes.join('/')}, 1 effect; observed ${executed} executed, ${replays} replay denials, ${effects} effect(s)`;
    ctx.trail.push(line);
    ctx.explainGroupTimeout(`burst: ${group.length} copies of request ${original.requestId}`, first, group.map(({ a }) => a), replays, effects);
    if (executed !== 1 || replays !== group.length - 1 || effects !== 1) throw new ConformanceFailure(tag.invariants, tag.threat, line);
    ctx.sent.push({ body: original.body, request: original.request, answers: {}, approvalId: `${base}-first`, executed: true });
    memory = first.outcome.memory;
  }
  ctx.memory = memory;
}

function plan(ctx: RunContext, member: Exclude<BurstMember, 'copy'>, now: number): Planned {
  const answers = MEMBER_ANSWERS[member];
  const fields: RequestFields = { request_id: ctx.unique('req'), action: ACTION, parameters: { to: 'carol', amount: 1, memo: { note: member } }, nonce: ctx.nonce() };
  const built = concreteRequest(answers, fields, now, ctx.acceptanceWindowSec);
  if (typeof built === 'string') return { member, body: utf8Encode(built), request: undefined, answers, requestId: fields.request_id };
  return { member, body: canonicalBytes(built), request: built, answers, requestId: fields.request_id };
}

function modelRequest(p: Planned, approvalId: string) {
  return { requestId: p.requestId, identity: p.request?.identity ?? 'unknown', action: ACTION, nonce: p.request?.nonce ?? 'unparsed', approvalId };
}

function summary(members: readonly BurstMember[]): string {
  const counts = new Map<BurstMember, number>();
  for (const m of members) counts.set(m, (counts.get(m) ?? 0) + 1);
  return [...counts].map(([m, n]) => `${n} ${m}`).join(', ');
}
