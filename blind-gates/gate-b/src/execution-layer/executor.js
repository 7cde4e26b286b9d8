// The Execution Layer's decision and action: it trusts nobody — the Gate included. Every call is
// read strictly and re-validated (envelope present, trusted signature, window, binding to the
// digest it recomputes from the parameters it is asked to run); the approval is consumed durably
// before the action runs; the effect is reported to the sink, and only its 2xx makes "executed".
import { parseStrict, isJsonObject } from '../profile/strict-json.js';
import { validate } from '../profile/schemas.js';
import { verifyEnvelope } from '../profile/envelope.js';
import { digestBytes, digestValue, freshId } from '../profile/crypto.js';
import { canonicalize } from '../profile/canonical.js';
import { Denial } from '../profile/codes.js';
import { postJson } from '../http/client.js';
import { nowMs, nowSec } from '../clock.js';
import { defect } from '../defects.js';

const SINK_DEADLINE_MS = 4000;

export class Executor {
  constructor({ trustedKeys, effectSinkUrl, approvals, log = () => {} }) {
    this.trustedKeys = trustedKeys;
    this.effectSinkUrl = effectSinkUrl;
    this.approvals = approvals;
    this.log = log;
  }

  /** Handle one call; returns { status, body } for the HTTP answer. */
  async execute(bytes, headers) {
    try {
      const call = this.readCall(bytes);
      const parametersDigest = defect('digest-client-order')
        ? digestBytes(Buffer.from(JSON.stringify(call.parameters), 'utf8'))
        : digestValue(call.parameters);
      // DEFECT el-trusts-header: calls marked by the Gate skip re-validation.
      const trustGate = defect('el-trusts-header') && headers['x-gate-verified'] === '1';
      let envelope = call.envelope;
      if (!trustGate) {
        envelope = verifyEnvelope(
          call.envelope,
          { request_id: call.request_id, identity: call.identity, action: call.action, parameters_digest: parametersDigest },
          this.trustedKeys,
          nowSec(),
        );
      }
      const approvalId = envelope?.approval_id ?? freshId('apr');
      await this.approvals.consume(approvalId, envelope?.expires_at ?? nowSec());
      return await this.run(call, approvalId);
    } catch (err) {
      if (err instanceof Denial) {
        return { status: 403, body: { status: 'denied', code: err.code, reason: err.reason } };
      }
      this.log(`execution layer: internal error: ${err.stack ?? err}`);
      return { status: 500, body: { error: 'internal error' } };
    }
  }

  readCall(bytes) {
    let call;
    try {
      call = parseStrict(bytes);
    } catch (err) {
      throw new Denial('REQUEST_MALFORMED', `not strict JSON: ${err.message}`);
    }
    if (!isJsonObject(call)) throw new Denial('REQUEST_MALFORMED', 'not an execution call');
    const v = validate('execution-call', call);
    if (!v.ok) {
      const outsideEnvelope = v.errors.filter((e) => !e.path.startsWith('/envelope') &&
        !(e.path === '' && /envelope/.test(e.message)));
      if (outsideEnvelope.length > 0) throw new Denial('REQUEST_MALFORMED', 'not an execution call');
    }
    return call;
  }

  /** The action itself: for the suite's test actions, the effect report is the effect. */
  async run(call, approvalId) {
    const effect = {
      effect_id: freshId('effect'),
      at: nowMs(),
      approval_id: approvalId,
      request_id: call.request_id,
      identity: call.identity,
      action: call.action,
      parameters: call.parameters,
    };
    const r = await postJson(`${this.effectSinkUrl}/v1/effects`, canonicalize(effect), { deadlineMs: SINK_DEADLINE_MS });
    if (r.kind === 'response' && r.status >= 200 && r.status < 300) {
      return { status: 200, body: { status: 'executed', effect_id: effect.effect_id, approval_id: approvalId } };
    }
    // Not acknowledged: it may or may not have been recorded. Never "executed", never a retry.
    this.log(`execution layer: effect sink did not acknowledge ${effect.effect_id} (${r.kind}${r.status ? ' ' + r.status : ''})`);
    return { status: 502, body: { error: 'effect report not acknowledged; outcome unknown' } };
  }
}
