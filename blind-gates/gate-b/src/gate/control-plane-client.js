// Stage 4: one policy question to {control plane}/v1/decide, with a deadline; every answer that
// is not a well-formed decision maps to a denial code (fail closed). Returns the envelope of an
// allow — unverified: stage 5 verifies it.
import { postJson } from '../http/client.js';
import { parseStrict, isJsonObject } from '../profile/strict-json.js';
import { canonicalize } from '../profile/canonical.js';
import { Denial } from '../profile/codes.js';

export class ControlPlaneClient {
  constructor({ url, deadlineMs }) {
    this.url = `${url}/v1/decide`;
    this.deadlineMs = deadlineMs;
  }

  /**
   * @param question  the policy question
   * @param onLateAnswer  (planted defect only) receives an answer that arrives after the deadline
   */
  async decide(question, onLateAnswer) {
    const r = await postJson(this.url, canonicalize(question), {
      deadlineMs: this.deadlineMs,
      onLateResult: onLateAnswer ? (late) => this.lateEnvelope(late, onLateAnswer) : undefined,
    });
    return ControlPlaneClient.interpret(r);
  }

  lateEnvelope(r, onLateAnswer) {
    try {
      onLateAnswer(ControlPlaneClient.interpret(r));
    } catch {
      /* a late denial changes nothing */
    }
  }

  static interpret(r) {
    switch (r.kind) {
      case 'refused':
        throw new Denial('CONTROL_PLANE_UNAVAILABLE', 'control plane unreachable');
      case 'timeout':
        throw new Denial('CONTROL_PLANE_TIMEOUT', 'no answer before the deadline');
      case 'broken':
        throw new Denial('CONTROL_PLANE_TIMEOUT', 'connection lost before a complete answer');
      default:
        break;
    }
    if (r.status >= 500) throw new Denial('CONTROL_PLANE_UNAVAILABLE', `control plane answered HTTP ${r.status}`);
    if (r.status !== 200) throw new Denial('CONTROL_PLANE_MALFORMED', `control plane answered HTTP ${r.status}`);
    let answer;
    try {
      answer = parseStrict(r.body);
    } catch {
      throw new Denial('CONTROL_PLANE_MALFORMED', 'answer is not strict JSON');
    }
    if (!isJsonObject(answer)) throw new Denial('CONTROL_PLANE_MALFORMED', 'answer is not an object');
    if (answer.decision === 'deny') throw new Denial('POLICY_DENIED', 'the control plane denied the request');
    if (answer.decision !== 'allow') throw new Denial('CONTROL_PLANE_MALFORMED', 'answer has no decision');
    if (answer.envelope === undefined || answer.envelope === null) {
      throw new Denial('ENVELOPE_MISSING', 'allow without an approval envelope');
    }
    return answer.envelope;
  }
}
