// The Execution Layer (CONTRACT.md §5, §6). It trusts nobody, the Gate included: every call is
// re-validated, the approval is consumed durably before the action runs, the effect is reported
// to the sink and acknowledged before the answer "executed".
import { randomUUID } from 'node:crypto';
import { parseStrict, isObject } from './strict-json.mjs';
import { parametersDigest, canonicalize } from './canonical.mjs';
import { checkExecutionCallFields, hasOwn } from './messages.mjs';
import { envelopeFailures } from './request-checks.mjs';
import { postJson } from './http-client.mjs';
import { DenialError } from './errors.mjs';

const EFFECT_DEADLINE_MS = 4000;

export class ExecutionLayer {
  constructor({ config, clock, approvals, trustedKeys, log }) {
    this.config = config;
    this.clock = clock;
    this.approvals = approvals;
    this.trustedKeys = trustedKeys;
    this.log = log;
    this.closed = false;
  }

  /** Handle POST /v1/execute. bytes: the body. -> { status, body } */
  async execute(bytes) {
    try {
      return await this.#execute(bytes);
    } catch (err) {
      if (err instanceof DenialError) return deny(err.code, err.message);
      // the approval store or the sink failed mid-way: whether it ran is not known -> not a result
      this.log('execution-layer', { error: String(err?.message ?? err) });
      return { status: 503, body: { error: 'execution outcome unknown' } };
    }
  }

  async #execute(bytes) {
    let call;
    try {
      call = parseStrict(bytes);
    } catch {
      throw new DenialError('REQUEST_MALFORMED', 'body is not strict JSON');
    }
    if (!isObject(call)) throw new DenialError('REQUEST_MALFORMED', 'body is not an execution call');
    if (!hasOwn(call, 'envelope') || call.envelope === null) throw new DenialError('ENVELOPE_MISSING', 'no approval envelope');
    if (!checkExecutionCallFields(call)) throw new DenialError('REQUEST_MALFORMED', 'body is not an execution call');

    let digest;
    try {
      digest = parametersDigest(call.parameters);
    } catch {
      throw new DenialError('REQUEST_MALFORMED', 'parameters cannot be canonicalized');
    }
    const codes = envelopeFailures(call.envelope, {
      request_id: call.request_id, identity: call.identity, action: call.action, parameters_digest: digest,
    }, { trustedKeys: this.trustedKeys, nowSec: this.clock.nowSec() });
    if (codes.length) throw new DenialError(codes[0], 'envelope refused');

    if (this.closed) throw new Error('execution layer stopped');
    const env = call.envelope;
    await this.approvals.consume(env.approval_id, env.expires_at);

    // The action: for the suite's test actions the effect report *is* the effect.
    const effect = {
      effect_id: `effect-${randomUUID()}`,
      at: this.clock.nowMs(),
      approval_id: env.approval_id,
      request_id: call.request_id,
      identity: call.identity,
      action: call.action,
      parameters: call.parameters, // exactly the approved parameters (digest checked above)
    };
    if (this.closed) throw new Error('execution layer stopped');
    const r = await postJson(`${this.config.effectSinkUrl}/v1/effects`, canonicalize(effect), { deadlineMs: EFFECT_DEADLINE_MS });
    if (r.kind !== 'answer' || r.status < 200 || r.status > 299) {
      throw new Error(`effect sink did not acknowledge (${r.kind === 'answer' ? r.status : r.error.message})`);
    }
    return { status: 200, body: { status: 'executed', effect_id: effect.effect_id, approval_id: env.approval_id } };
  }
}

function deny(code, reason) {
  return { status: 403, body: { status: 'denied', code, reason } };
}
