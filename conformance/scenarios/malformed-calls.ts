/**
 * Bodies that are not a call, sent straight to the Execution Layer (CONTRACT.md section 5: "A body
 * that is not a call is REQUEST_MALFORMED"; the bypass probe: "Each MUST be denied with a code and
 * produce no effect"). The object forms carry a valid envelope, signed by the trusted key and
 * bound to the call as it should have been, as bait: an Execution Layer that checks the envelope
 * and not the call it is asked to run acts on a call it cannot read.
 *
 * Judged without the model (whose Execution Layer chart asks only about envelopes): an effect, or
 * an answer other than a denial, breaks INV-6; a denial with another code is a contract finding —
 * for the object forms ENVELOPE_BINDING_MISMATCH is accepted too, since the call, missing a field
 * the envelope binds, also fails its binding.
 */
import { TEST_KEYS } from '../../model/history-builder.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { digestJson } from '../../model/profile/digest.ts';
import { signEnvelope } from '../../model/profile/messages.ts';
import { envelopeWindow } from '../../model/concrete-scenario.ts';
import type { RunContext } from '../run-context.ts';
import { ACTION, ConformanceFailure } from '../run-context.ts';
import type { Tagged } from '../threats.ts';
import { effectMark, effectsSince } from './steps.ts';

export const MALFORMED_CALLS = ['null', 'array', 'string', 'no-request-id', 'identity-not-text', 'no-parameters'] as const;
export type MalformedCall = (typeof MALFORMED_CALLS)[number];

function callBody(ctx: RunContext, form: MalformedCall): JsonValue {
  if (form === 'null') return null;
  if (form === 'string') return 'execute payments.transfer';
  const parameters = { to: 'mallory', amount: 1000 };
  const requestId = ctx.unique('malformed-call');
  const envelope = signEnvelope(
    { approval_id: ctx.unique('approval'), request_id: requestId, identity: 'alice', action: ACTION, parameters_digest: digestJson(parameters), ...envelopeWindow(undefined, ctx.nowSec()), key_id: TEST_KEYS.controlPlane.keyId },
    TEST_KEYS.controlPlane,
  ) as unknown as JsonValue;
  const call: Record<string, JsonValue> = { envelope, request_id: requestId, identity: 'alice', action: ACTION, parameters };
  if (form === 'array') return [call];
  if (form === 'no-request-id') delete call.request_id;
  if (form === 'identity-not-text') call.identity = 42;
  if (form === 'no-parameters') delete call.parameters;
  return call;
}

export async function malformedCall(ctx: RunContext, form: MalformedCall, tag: Tagged): Promise<void> {
  const label = `a body that is not a call, straight to the Execution Layer (${form})`;
  if (!ctx.driver.capabilities.has('direct-execution')) {
    ctx.notTested.set(label, 'direct-execution');
    return;
  }
  const mark = effectMark(ctx);
  const observed = await ctx.driver.callExecutionLayer(callBody(ctx, form));
  const effects = effectsSince(ctx, mark);
  ctx.steps += 1;
  ctx.effectsSeen += effects;
  ctx.exercise(tag.threat);
  const seen = observed.status === 'denied' ? `denied with ${observed.code ?? 'no code'}` : observed.status;
  const line = `${label}: expected denied with REQUEST_MALFORMED, 0 effect(s); observed ${seen}, ${effects} effect(s)`;
  ctx.trail.push(line);
  if (effects > 0 || observed.status === 'executed') throw new ConformanceFailure(tag.invariants, tag.threat, line);
  const accepted = ['null', 'array', 'string'].includes(form) ? ['REQUEST_MALFORMED'] : ['REQUEST_MALFORMED', 'ENVELOPE_BINDING_MISMATCH'];
  if (observed.status !== 'denied' || !accepted.includes(observed.code ?? '')) {
    ctx.contractFindings.push({ threat: tag.threat, message: `wrong denial code: ${line}` });
    ctx.trail.push(`contract finding (wrong denial code): ${label}`);
  }
}
