// Stage 7: one HTTP call to the Execution Layer ({url}/v1/execute), no retry, no queue.
//   executed (200 + result)      -> { executed: true, effect_id }
//   denied (403 + profile code)  -> Denial with that code, outcome 'failed'
//   nothing sent (refused)       -> Denial EXECUTION_UNAVAILABLE, outcome 'failed'
//   anything else                -> Denial EXECUTION_UNCONFIRMED, outcome 'unknown'
import { postJson } from '../http/client.js';
import { parseStrict } from '../profile/strict-json.js';
import { validate } from '../profile/schemas.js';
import { canonicalize } from '../profile/canonical.js';
import { Denial } from '../profile/codes.js';
import { defect } from '../defects.js';

export class DispatchDenial extends Denial {
  constructor(code, reason, outcome) {
    super(code, reason);
    this.outcome = outcome;
  }
}

export class ExecutionClient {
  constructor({ url, deadlineMs }) {
    this.url = `${url}/v1/execute`;
    this.deadlineMs = deadlineMs;
  }

  async execute(call) {
    const headers = defect('el-trusts-header') ? { 'x-gate-verified': '1' } : {};
    const body = canonicalize(call);
    let r = await postJson(this.url, body, { deadlineMs: this.deadlineMs, headers });
    // DEFECT exec-retry: "transient" failures are retried once.
    if (defect('exec-retry') && r.kind !== 'response') {
      r = await postJson(this.url, body, { deadlineMs: this.deadlineMs, headers });
    }
    return ExecutionClient.interpret(r, call.envelope.approval_id);
  }

  static interpret(r, approvalId) {
    if (r.kind === 'refused' || (r.kind === 'timeout' && !r.connected)) {
      throw new DispatchDenial('EXECUTION_UNAVAILABLE', 'execution layer unreachable; nothing was sent', 'failed');
    }
    const unconfirmed = (why) => new DispatchDenial('EXECUTION_UNCONFIRMED', why, 'unknown');
    if (r.kind !== 'response') throw unconfirmed(`no answer from the execution layer (${r.kind})`);
    let result;
    try {
      result = parseStrict(r.body);
    } catch {
      throw unconfirmed(`execution layer answered HTTP ${r.status} with a body that is not JSON`);
    }
    if (!validate('execution-result', result).ok) throw unconfirmed(`execution layer answered HTTP ${r.status}, not a result`);
    if (r.status === 200 && result.status === 'executed') {
      if (result.approval_id !== approvalId) throw unconfirmed('execution layer consumed another approval');
      return { effect_id: result.effect_id };
    }
    if (r.status === 403 && result.status === 'denied') {
      const outcome = result.code === 'EXECUTION_UNCONFIRMED' ? 'unknown' : 'failed';
      throw new DispatchDenial(result.code, result.reason ?? 'denied by the execution layer', outcome);
    }
    throw unconfirmed(`execution layer answered HTTP ${r.status} with status ${result.status}`);
  }
}
