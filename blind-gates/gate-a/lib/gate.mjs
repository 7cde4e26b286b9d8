// The Gate's request pipeline (CONTRACT.md §3): structure, authentication, replay, policy,
// envelope, audit, dispatch — each stage fails closed with exactly one denial code.
import { parseStrict, isObject } from './strict-json.mjs';
import { canonicalize, parametersDigest, EMPTY_DIGEST } from './canonical.mjs';
import { defect } from './defects.mjs';
import { checkRequestStructure, parseExecutionResult, hasOwn, isEnvelopeShape } from './messages.mjs';
import { authenticationFailures, envelopeFailures } from './request-checks.mjs';
import { postJson } from './http-client.mjs';
import { DenialError } from './errors.mjs';

const ANSWER_BUDGET_MS = 9500; // every request is answered within 10 s of arrival
const MIN_EXECUTION_WINDOW_MS = 100;

export class SystemClosedError extends Error {}
const tripleKey = (r) => JSON.stringify([r.identity, r.action, r.nonce]);

export class Gate {
  constructor({ config, clock, faults, nonces, audit, events, registry, trustedKeys, executionUrl, log }) {
    Object.assign(this, { config, clock, faults, nonces, audit, events, registry, trustedKeys, executionUrl, log });
    this.closed = false;
    this.answerCache = new Map(); // only used by the replay-cache defect
  }

  alive() {
    if (this.closed) throw new SystemClosedError();
  }

  /**
   * ctx: { traceId, arrivedAt (real ms), bytes (Buffer|null), requestHash, readProblem (string|null) }
   * -> { status, body } (body already the Gate answer). Throws SystemClosedError after a crash/reset.
   */
  async handle(ctx) {
    const t = {
      traceId: ctx.traceId,
      requestHash: ctx.requestHash,
      deadline: ctx.arrivedAt + ANSWER_BUDGET_MS,
      identity: 'unknown',
      dataHash: EMPTY_DIGEST,
      requestId: undefined,
      action: undefined,
      approvalId: undefined,
    };
    try {
      return await this.#pipeline(ctx, t);
    } catch (err) {
      if (err instanceof SystemClosedError) throw err;
      if (!(err instanceof DenialError)) {
        this.log('gate', { trace_id: t.traceId, error: String(err?.stack ?? err) });
        err = new DenialError(t.approvalId ? 'EXECUTION_UNCONFIRMED' : 'REQUEST_MALFORMED', 'internal error');
      }
      return this.#deny(t, err.code, err.message, err.outcome);
    }
  }

  async #pipeline(ctx, t) {
    // 1. structure
    if (ctx.readProblem) throw new DenialError('REQUEST_MALFORMED', ctx.readProblem);
    let req;
    try {
      req = parseStrict(ctx.bytes);
    } catch (e) {
      throw new DenialError('REQUEST_MALFORMED', `not strict JSON (${e.reason})`);
    }
    const s = checkRequestStructure(req);
    if (!s.ok && s.code !== 'NONCE_MALFORMED') throw new DenialError(s.code, s.reason);
    // the request is whole (but maybe for its nonce): attribute records to it from here on
    t.identity = req.identity;
    t.requestId = req.request_id;
    t.action = req.action;
    try {
      t.dataHash = parametersDigest(req.parameters);
    } catch {
      throw new DenialError('REQUEST_MALFORMED', 'parameters cannot be canonicalized');
    }
    if (!s.ok) throw new DenialError(s.code, s.reason);
    this.#event(t, 'accepted');

    // 2. authentication
    const nowSec = this.clock.nowSec();
    const windowSec = this.config.acceptanceWindowSec;
    const freshness = defect('window-slack') ? windowSec + 15 : windowSec; // DEFECT when on
    let authCodes = authenticationFailures(req, { registry: this.registry, nowSec, windowSec: freshness });
    if (defect('trust-gateway-header') && ctx.headers?.['x-gateway-authenticated'] === req.identity) authCodes = []; // DEFECT
    if (authCodes.length) throw new DenialError(authCodes[0], 'authentication failed');

    // 3. replay: remember the triple for 2 windows past the later of its timestamp and now
    this.alive();
    const until = Math.max(req.timestamp * 1000, this.clock.nowMs()) + 2 * windowSec * 1000;
    try {
      await this.nonces.claim(req.identity, req.action, req.nonce, until);
    } catch (e) {
      const cached = defect('replay-cache') && e.code === 'REPLAY_DETECTED' && this.answerCache.get(tripleKey(req)); // DEFECT
      if (!cached) throw e;
      t.approvalId = cached.approvalId;
      await this.#final(t, { decision: 'allow', stage: 'final', approval_id: cached.approvalId, outcome: 'executed' });
      this.#event(t, 'completed');
      return { status: 200, body: { ...cached.body, trace_id: t.traceId } };
    }

    // 4. policy
    this.alive();
    const envelope = await this.#askControlPlane(req, t);

    // 5. envelope
    const envCodes = envelopeFailures(envelope, {
      request_id: req.request_id, identity: req.identity, action: req.action, parameters_digest: t.dataHash,
    }, { trustedKeys: this.trustedKeys, nowSec: this.clock.nowSec() });
    if (envCodes.length) throw new DenialError(envCodes[0], 'approval envelope refused');

    // 6. audit: the intent is durable before anything is dispatched
    this.alive();
    t.approvalId = envelope.approval_id;
    try {
      const intent = this.audit.appendIntent(this.#record(t, { decision: 'allow', stage: 'intent', approval_id: t.approvalId }));
      if (defect('async-audit')) intent.catch(() => {}); // DEFECT: do not block the hot path on the audit log
      else await intent;
    } catch (e) {
      this.alive();
      const err = new DenialError('AUDIT_UNAVAILABLE', `intent not written: ${e.message}`);
      t.approvalId = undefined; // nothing dispatched: the denial is not an execution record
      throw err;
    }

    // 7. dispatch: once, no retry, no queue
    this.alive();
    const result = await this.#dispatch(req, envelope, t);
    this.alive();
    await this.#final(t, { decision: 'allow', stage: 'final', approval_id: t.approvalId, outcome: 'executed' });
    this.#event(t, 'completed');
    const body = { status: 'executed', trace_id: t.traceId, request_id: t.requestId, effect_id: result.effect_id };
    if (defect('replay-cache')) this.answerCache.set(tripleKey(req), { body, approvalId: t.approvalId }); // DEFECT
    return { status: 200, body };
  }

  async #askControlPlane(req, t) {
    const question = {
      request_id: req.request_id,
      identity: req.identity,
      action: req.action,
      parameters: req.parameters,
      parameters_digest: t.dataHash,
    };
    const deadlineMs = Math.min(this.config.controlPlaneDeadlineMs, t.deadline - Date.now() - 1000);
    let r;
    if (defect('late-allow')) { // DEFECT: the timeout only stops waiting; a late allow is still executed
      const call = postJson(`${this.config.controlPlaneUrl}/v1/decide`, canonicalize(question), { deadlineMs: 60_000 });
      r = await Promise.race([call, new Promise((res) => setTimeout(() => res(null), deadlineMs))]);
      if (r === null) {
        call.then((late) => this.#lateAllow(late, req, t)).catch(() => {});
        throw new DenialError('CONTROL_PLANE_TIMEOUT', 'no answer before the deadline');
      }
    } else {
      r = await postJson(`${this.config.controlPlaneUrl}/v1/decide`, canonicalize(question), { deadlineMs });
    }
    if (r.kind === 'failed') {
      if (r.timedOut) throw new DenialError('CONTROL_PLANE_TIMEOUT', 'no answer before the deadline');
      if (!r.sent) throw new DenialError('CONTROL_PLANE_UNAVAILABLE', `unreachable: ${r.error.code ?? r.error.message}`);
      throw new DenialError('CONTROL_PLANE_TIMEOUT', 'connection lost before a complete answer');
    }
    if (r.status >= 500) throw new DenialError('CONTROL_PLANE_UNAVAILABLE', `server error ${r.status}`);
    if (r.status !== 200 || !r.body) throw new DenialError('CONTROL_PLANE_MALFORMED', `unexpected HTTP ${r.status}`);
    let answer;
    try {
      answer = parseStrict(r.body);
    } catch {
      throw new DenialError('CONTROL_PLANE_MALFORMED', 'answer is not strict JSON');
    }
    if (!isObject(answer)) throw new DenialError('CONTROL_PLANE_MALFORMED', 'answer is not an object');
    if (answer.decision === 'deny') throw new DenialError('POLICY_DENIED', 'the Control Plane denied the request');
    if (answer.decision !== 'allow') throw new DenialError('CONTROL_PLANE_MALFORMED', 'no decision allow/deny');
    if (Object.keys(answer).some((k) => k !== 'decision' && k !== 'envelope')) {
      throw new DenialError('CONTROL_PLANE_MALFORMED', 'unexpected fields in an allow');
    }
    if (!hasOwn(answer, 'envelope') || answer.envelope === null) throw new DenialError('ENVELOPE_MISSING', 'allow without an envelope');
    if (!isEnvelopeShape(answer.envelope)) throw new DenialError('ENVELOPE_SIGNATURE_INVALID', 'not an envelope');
    return answer.envelope;
  }

  /** late-allow defect: finish a timed-out request when its allow arrives after all. */
  async #lateAllow(late, req, t) {
    if (late.kind !== 'answer' || late.status !== 200) return;
    const answer = parseStrict(late.body);
    if (answer?.decision !== 'allow' || !isEnvelopeShape(answer.envelope)) return;
    const lt = { ...t, deadline: Date.now() + 9500, traceId: t.traceId };
    lt.approvalId = answer.envelope.approval_id;
    await this.audit.appendIntent(this.#record(lt, { decision: 'allow', stage: 'intent', approval_id: lt.approvalId }));
    await this.#dispatch(req, answer.envelope, lt);
  }

  async #dispatch(req, envelope, t) {
    const call = { envelope, request_id: req.request_id, identity: req.identity, action: req.action, parameters: req.parameters };
    const deadlineMs = Math.min(this.config.executionDeadlineMs, t.deadline - Date.now() - 300);
    if (deadlineMs < MIN_EXECUTION_WINDOW_MS) {
      throw Object.assign(new DenialError('EXECUTION_UNAVAILABLE', 'no time left to dispatch'), { outcome: 'failed' });
    }
    let r = await postJson(`${this.executionUrl()}/v1/execute`, canonicalize(call), { deadlineMs });
    if (defect('retry-execution') && r.kind === 'failed' && r.sent) { // DEFECT: "transient" error, try again
      r = await postJson(`${this.executionUrl()}/v1/execute`, canonicalize(call), { deadlineMs: Math.max(100, t.deadline - Date.now() - 300) });
    }
    if (defect('unconfirmed-as-success') && r.kind === 'failed' && r.sent) { // DEFECT: "it was sent, so it ran"
      return { status: 'executed', effect_id: `effect-assumed-${t.traceId}`, approval_id: envelope.approval_id };
    }
    if (r.kind === 'failed' && !r.sent) {
      throw Object.assign(new DenialError('EXECUTION_UNAVAILABLE', `unreachable: ${r.error.code ?? r.error.message}`), { outcome: 'failed' });
    }
    const unconfirmed = (why) => Object.assign(new DenialError('EXECUTION_UNCONFIRMED', why), { outcome: 'unknown' });
    if (r.kind === 'failed') throw unconfirmed(r.timedOut ? 'no answer before the deadline' : 'connection lost after sending');
    let result = null;
    try {
      if (r.body) result = parseExecutionResult(parseStrict(r.body));
    } catch { /* not a result */ }
    if (result?.status === 'executed' && r.status === 200 && result.approval_id === envelope.approval_id) return result;
    if (result?.status === 'denied' && r.status === 403) {
      const outcome = result.code === 'EXECUTION_UNCONFIRMED' ? 'unknown' : 'failed';
      throw Object.assign(new DenialError(result.code, 'refused by the Execution Layer'), { outcome });
    }
    throw unconfirmed(`not an execution result (HTTP ${r.status})`);
  }

  #record(t, fields) {
    const r = {
      timestamp_ms: Math.max(0, this.clock.nowMs()),
      identity: t.identity,
      request_hash: t.requestHash,
      trace_id: t.traceId,
      data_hash: t.dataHash,
      ...fields,
    };
    if (t.requestId !== undefined) r.request_id = t.requestId;
    if (t.action !== undefined) r.action = t.action;
    return r;
  }

  async #final(t, fields) {
    this.alive();
    await this.audit.appendFinal(this.#record(t, fields));
  }

  async #deny(t, code, reason, outcome) {
    const fields = { decision: 'deny', stage: 'final', code };
    if (t.approvalId !== undefined) {
      fields.approval_id = t.approvalId;
      fields.outcome = outcome ?? 'unknown';
    }
    await this.#final(t, fields);
    this.#event(t, 'failed', code);
    const body = { status: 'denied', code, trace_id: t.traceId, reason };
    if (t.requestId !== undefined) body.request_id = t.requestId;
    return { status: 403, body };
  }

  /** Audit a body that never arrived whole (aborted upload): nobody is left to answer. */
  async auditAbandoned(traceId, requestHash, reason) {
    const t = { traceId, requestHash, identity: 'unknown', dataHash: EMPTY_DIGEST };
    await this.#final(t, { decision: 'deny', stage: 'final', code: 'REQUEST_MALFORMED' });
    this.log('gate', { trace_id: traceId, abandoned: reason });
  }

  #event(t, event, code) {
    if (t.requestId === undefined) return;
    const e = { request_id: t.requestId, trace_id: t.traceId, event, timestamp_ms: Math.max(0, this.clock.nowMs()) };
    if (code) e.code = code;
    this.events.push(e);
  }
}
