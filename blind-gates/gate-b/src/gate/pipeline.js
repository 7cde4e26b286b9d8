// The Gate's decision pipeline for POST /v1/requests, stages 1-7 of the contract, in order:
// structure, authentication, replay, policy, envelope, audit (intent), dispatch. Every request
// ends with exactly one final audit record and one answer; anything unexpected is a denial.
import { checkStructure, checkAuthentication } from './request-checks.js';
import { verifyEnvelope } from '../profile/envelope.js';
import { digestBytes, digestValue, EMPTY_DIGEST } from '../profile/crypto.js';
import { Denial } from '../profile/codes.js';
import { AuditLog } from '../storage/audit-log.js';
import { DispatchDenial } from './execution-client.js';
import { nowMs, nowSec } from '../clock.js';
import { defect } from '../defects.js';

const BODY_PROBLEMS = {
  'too-large': 'body is larger than 1 MiB',
  stalled: 'body upload stalled',
  aborted: 'body upload aborted',
};

export class Pipeline {
  constructor({ config, nonces, audit, events, controlPlane, execution, log }) {
    this.config = config;
    this.nonces = nonces;
    this.audit = audit;
    this.events = events;
    this.controlPlane = controlPlane;
    this.execution = execution;
    this.log = log;
    this.resultCache = new Map(); // only used by the planted defect result-cache
  }

  /**
   * @param body  { state, bytes, requestHash } from readBody
   * @returns { status, answer } — the HTTP status and the gate answer
   */
  async handle(body, traceId) {
    if (defect('result-cache') && body.state === 'complete' && this.resultCache.has(body.requestHash)) {
      return this.resultCache.get(body.requestHash);
    }
    const ctx = { trace_id: traceId, request_hash: body.requestHash, identity: 'unknown', data_hash: EMPTY_DIGEST };
    try {
      const answer = await this.stages(body, ctx);
      if (defect('result-cache') && answer.status === 200) this.resultCache.set(body.requestHash, answer);
      return answer;
    } catch (err) {
      if (err instanceof Denial) return this.deny(ctx, err);
      this.log(`gate: internal error on ${traceId}: ${err.stack ?? err}`);
      // Fail closed. After dispatch the outcome is unknown; before, nothing ran.
      const code = ctx.dispatched ? 'EXECUTION_UNCONFIRMED' : ctx.stageCode ?? 'REQUEST_MALFORMED';
      const d = ctx.dispatched ? new DispatchDenial(code, 'internal error', 'unknown') : new Denial(code, 'internal error');
      return this.deny(ctx, d);
    }
  }

  async stages(body, ctx) {
    // 1. structure
    if (body.state !== 'complete') throw new Denial('REQUEST_MALFORMED', BODY_PROBLEMS[body.state] ?? body.state);
    let request;
    try {
      ({ request } = checkStructure(body.bytes));
    } catch (err) {
      // A request whole but for its nonce is attributed (audit, answer, a "failed" event), but it
      // did not pass the structure check, so it is never "accepted".
      if (err.attribution) Object.assign(ctx, err.attribution);
      throw err;
    }
    Object.assign(ctx, {
      identity: request.identity,
      request_id: request.request_id,
      action: request.action,
      data_hash: this.parametersDigest(request.parameters),
    });
    this.events.emit(ctx, 'accepted');

    // 2. authentication
    ctx.stageCode = 'SIGNATURE_INVALID';
    checkAuthentication(request, this.config.registry, this.config.windowSec, nowSec());

    // 3. replay
    ctx.stageCode = 'NONCE_STORE_UNAVAILABLE';
    if (defect('claim-after-policy')) {
      if (this.nonces.isClaimed(request.identity, request.action, request.nonce)) {
        throw new Denial('REPLAY_DETECTED', 'nonce already used');
      }
    } else {
      await this.nonces.claim(request.identity, request.action, request.nonce, request.timestamp);
    }

    // 4. policy — one question per request
    ctx.stageCode = 'CONTROL_PLANE_UNAVAILABLE';
    const question = {
      request_id: request.request_id,
      identity: request.identity,
      action: request.action,
      parameters: request.parameters,
      parameters_digest: ctx.data_hash,
    };
    const late = defect('late-allow') ? (envelope) => this.lateDispatch(request, ctx, envelope) : undefined;
    const envelope = await this.controlPlane.decide(question, late);

    // 5. envelope
    ctx.stageCode = 'ENVELOPE_SIGNATURE_INVALID';
    verifyEnvelope(envelope, this.bindingOf(request, ctx), this.config.trustedKeys, nowSec());
    if (defect('claim-after-policy')) {
      await this.nonces.claim(request.identity, request.action, request.nonce, request.timestamp);
    }

    // 6. audit: the intent is durable before anything is dispatched
    ctx.stageCode = 'AUDIT_UNAVAILABLE';
    ctx.approval_id = envelope.approval_id;
    try {
      await this.audit.appendIntent(this.record(ctx, { decision: 'allow', stage: 'intent' }));
    } catch (err) {
      delete ctx.approval_id;
      throw new Denial('AUDIT_UNAVAILABLE', `intent record not written: ${err.message}`);
    }

    // 7. dispatch — once
    ctx.dispatched = true;
    const result = await this.execution.execute({
      envelope,
      request_id: request.request_id,
      identity: request.identity,
      action: request.action,
      parameters: request.parameters,
    });
    await this.audit.appendFinal(this.record(ctx, { decision: 'allow', stage: 'final', outcome: 'executed' }));
    this.events.emit(ctx, 'completed');
    const answer = { status: 'executed', trace_id: ctx.trace_id, request_id: ctx.request_id, effect_id: result.effect_id };
    return { status: 200, answer };
  }

  parametersDigest(parameters) {
    // DEFECT digest-client-order: the digest is taken over the client's serialization order.
    if (defect('digest-client-order')) return digestBytes(Buffer.from(JSON.stringify(parameters), 'utf8'));
    return digestValue(parameters);
  }

  bindingOf(request, ctx) {
    return {
      request_id: request.request_id,
      identity: request.identity,
      action: request.action,
      parameters_digest: ctx.data_hash,
    };
  }

  async deny(ctx, denial) {
    const fields = { decision: 'deny', stage: 'final', code: denial.code };
    if (denial instanceof DispatchDenial) fields.outcome = denial.outcome;
    else delete ctx.approval_id; // only a dispatched request names its approval in a denial
    await this.audit.appendFinal(this.record(ctx, fields));
    if (ctx.request_id !== undefined) this.events.emit(ctx, 'failed', denial.code);
    const answer = { status: 'denied', code: denial.code, trace_id: ctx.trace_id };
    if (ctx.request_id !== undefined) answer.request_id = ctx.request_id;
    if (denial.reason) answer.reason = denial.reason;
    return { status: 403, answer };
  }

  record(ctx, fields) {
    return AuditLog.body({
      timestamp_ms: nowMs(),
      identity: ctx.identity,
      request_hash: ctx.request_hash,
      trace_id: ctx.trace_id,
      data_hash: ctx.data_hash,
      request_id: ctx.request_id,
      action: ctx.action,
      approval_id: ctx.approval_id,
      ...fields,
    });
  }

  /** Planted defect late-allow: an allow that arrives after the deadline is still executed. */
  lateDispatch(request, ctx, envelope) {
    try {
      verifyEnvelope(envelope, this.bindingOf(request, ctx), this.config.trustedKeys, nowSec());
    } catch {
      return;
    }
    this.execution
      .execute({ envelope, request_id: request.request_id, identity: request.identity, action: request.action, parameters: request.parameters })
      .catch(() => {});
  }
}
