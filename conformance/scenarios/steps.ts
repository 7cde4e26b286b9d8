/**
 * Small primitives the scenarios of this folder share, built on the RunContext's public surface:
 * send bytes the scenario prepared itself (a request signed by an unusual key, with extra headers,
 * to one replica) or a direct call shaped like the Gate's own, predict it with the model, check it
 * and thread the model's memory — exactly as `RunContext.gateScenario` and `directCall` do for the
 * requests they build.
 */
import type { Answers } from '../../model/concrete-scenario.ts';
import type { DirectCallRun, GateRun } from '../../model/predict.ts';
import { predictDirectCall, predictRequest } from '../../model/predict.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import type { Answer, DirectCallOptions, SubmitOptions } from '../driver.ts';
import type { RunContext } from '../run-context.ts';
import { ACTION } from '../run-context.ts';
import type { Tagged } from '../threats.ts';

/** Where the effects recorded so far end: what happened after it is the step's doing. */
export function effectMark(ctx: RunContext): number {
  return ctx.recorder.events.length;
}

/** Effects recorded since `mark`, optionally only those of one request id. */
export function effectsSince(ctx: RunContext, mark: number, requestId?: string): number {
  let n = 0;
  for (const e of ctx.recorder.events.slice(mark)) if (e.kind === 'effect' && (requestId === undefined || e.request_id === requestId)) n += 1;
  return n;
}

export function cover(ctx: RunContext, run: GateRun | DirectCallRun, chart: 'gate' | 'executionLayer'): void {
  for (const s of run.steps) ctx.coverage.add(`${chart}:${s.state}:${s.question}.${s.answer}`);
}

export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface PreparedRequest {
  label: string;
  tag: Tagged;
  /** the model's answers these bytes stand for: what the system must conclude from them */
  answers: Answers;
  body: Uint8Array;
  /** the request the bytes carry, when they are one (for the model and for replays) */
  request?: ClientRequest;
  approvalId?: string;
  options?: SubmitOptions;
}

/** The model's prediction for a prepared request, from the memory the run has now. */
export function predictPrepared(ctx: RunContext, p: Pick<PreparedRequest, 'answers' | 'request'>, approvalId: string): GateRun {
  const r = p.request;
  return predictRequest(p.answers as never, ctx.memory, {
    requestId: r?.request_id ?? 'unparsed',
    identity: r?.identity ?? 'unknown',
    action: r?.action ?? ACTION,
    nonce: r?.nonce ?? 'unparsed',
    approvalId,
  });
}

/** Sends prepared bytes through the Gate (the harness's Control Plane plays the same answers), checks, threads memory. */
export async function sendPrepared(ctx: RunContext, p: PreparedRequest): Promise<Answer> {
  const approvalId = p.approvalId ?? ctx.unique('approval');
  const predicted = predictPrepared(ctx, p, approvalId);
  ctx.controlPlane.answer({ answers: p.answers, approvalId });
  const mark = effectMark(ctx);
  let observed: Answer;
  try {
    observed = await ctx.driver.submit(p.body, p.options);
  } finally {
    ctx.controlPlane.answer(undefined);
  }
  const effects = effectsSince(ctx, mark);
  ctx.steps += 1;
  ctx.effectsSeen += effects;
  ctx.sent.push({ body: p.body, request: p.request, answers: p.answers, approvalId, executed: observed.status === 'executed' });
  cover(ctx, predicted, 'gate');
  const judged = await ctx.judgeRequest(p, predicted, observed, () => effectsSince(ctx, mark));
  ctx.memory = judged.outcome.memory;
  return observed;
}

export interface PreparedDirectCall {
  label: string;
  tag: Tagged;
  /** the model's answers of the Execution Layer chart this call stands for */
  answers: Answers;
  call: JsonValue;
  /** the approval and request the presented envelope names (for the model's memory) */
  approvalId: string;
  requestId: string;
  options?: DirectCallOptions;
}

/** Sends a prepared call straight to the Execution Layer, checks it against the model, threads memory. */
export async function directPrepared(ctx: RunContext, p: PreparedDirectCall): Promise<Answer> {
  const predicted = predictDirectCall(p.answers as never, ctx.memory, { approvalId: p.approvalId, requestId: p.requestId });
  const mark = effectMark(ctx);
  const observed = await ctx.driver.callExecutionLayer(p.call, p.options);
  const effects = effectsSince(ctx, mark);
  ctx.steps += 1;
  ctx.effectsSeen += effects;
  cover(ctx, predicted, 'executionLayer');
  ctx.check(p, predicted, observed, effects);
  ctx.memory = predicted.outcome.memory;
  return observed;
}
