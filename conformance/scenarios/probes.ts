/**
 * Probes for trust paths a black box hides (issue 10, class 5):
 *
 * - **headers at the Gate**: requests the Gate must deny (a bad signature, a stale timestamp, an
 *   unknown key, …) sent with headers an internal gateway, a load balancer or an SDK might set —
 *   `x-gateway-authenticated: alice`, `x-forwarded-for: 127.0.0.1`, … A Gate that lets any header
 *   stand in for a check executes them (CONTRACT.md section 3).
 * - **the Gate's own call shape at the Execution Layer**: the harness sees the Gate's real calls
 *   (its proxy, or the in-process link) and replays them — path and headers exactly as the Gate
 *   sent them — with the envelope missing, forged, expired, replayed or bound to other parameters.
 *   An Execution Layer that trusts whatever marks the Gate's calls (a header, a source address)
 *   executes them (CONTRACT.md section 5).
 */
import type { Answers, RequestFields } from '../../model/concrete-scenario.ts';
import { concreteEnvelope, concreteRequest, envelopeWindow } from '../../model/concrete-scenario.ts';
import { TEST_KEYS } from '../../model/history-builder.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalBytes } from '../../model/profile/canonical-json.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { signEnvelope } from '../../model/profile/messages.ts';
import type { CapturedExecutionCall } from '../driver.ts';
import type { RunContext } from '../run-context.ts';
import { ACTION } from '../run-context.ts';
import type { Tagged } from '../threats.ts';
import { directPrepared, sendPrepared } from './steps.ts';

/**
 * Headers a gate might be tempted to trust, and the value each carries (`$identity`: the identity
 * the request claims). The harness sends them on requests the Gate must deny; none may change that.
 */
export const TRUST_HEADERS: Readonly<Record<string, string>> = {
  'x-gateway-authenticated': '$identity',
  'x-authenticated-identity': '$identity',
  'x-authenticated-user': '$identity',
  'x-forwarded-user': '$identity',
  'x-remote-user': '$identity',
  'x-user-id': '$identity',
  'x-identity': '$identity',
  'x-internal-request': 'true',
  'x-gate-verified': '1',
  'x-signature-verified': 'true',
  'x-auth-verified': 'true',
  'x-trusted-client': '1',
  'x-skip-auth': '1',
  'x-forwarded-for': '127.0.0.1',
  'x-real-ip': '127.0.0.1',
  'x-forwarded-proto': 'https',
  'x-client-verify': 'SUCCESS',
  'x-ssl-client-verify': 'SUCCESS',
};
export const TRUST_HEADER_NAMES = Object.keys(TRUST_HEADERS);

/** What the request carrying the headers gets wrong: each must be denied whatever the headers say. */
export type UntrustedForm = 'bad-signature' | 'stale' | 'future' | 'unknown-key' | 'revoked-key';

const UNTRUSTED_ANSWERS: Record<UntrustedForm, Answers> = {
  'bad-signature': { signature: 'invalid' },
  stale: { timestamp: 'stale' },
  future: { timestamp: 'future' },
  'unknown-key': { identityKey: 'unknown' },
  'revoked-key': { identityKey: 'revoked' },
};

export function trustHeaderValues(names: readonly string[], identity: string): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, (TRUST_HEADERS[name] ?? '1').replace('$identity', identity)]));
}

/** A request the Gate must deny, with headers a gate might trust: denied all the same, nothing executes. */
export async function trustHeadersAtGate(ctx: RunContext, form: UntrustedForm, headerNames: readonly string[], tag: Tagged): Promise<void> {
  const answers = UNTRUSTED_ANSWERS[form];
  const fields: RequestFields = { request_id: ctx.unique('req'), action: ACTION, parameters: { to: 'mallory', amount: 500 }, nonce: ctx.nonce() };
  const request = concreteRequest(answers, fields, ctx.nowSec(), ctx.acceptanceWindowSec) as ClientRequest;
  const headers = trustHeaderValues(headerNames, request.identity);
  const shown = headerNames.length > 3 ? `${headerNames.length} trust headers` : headerNames.join(' ');
  await sendPrepared(ctx, { label: `request with ${form} and ${shown}`, tag, answers, body: canonicalBytes(request), request, options: { headers } });
}

/** What the replayed Gate call presents instead of its own valid envelope. */
export const PROBE_KINDS = ['replayed', 'no-envelope', 'forged', 'expired', 'mismatched'] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

const PROBE_ANSWERS: Record<ProbeKind, Answers> = {
  replayed: {},
  'no-envelope': { presentedEnvelope: 'absent' },
  forged: { envelopeSignature: 'untrusted' },
  expired: { envelopeWindow: 'expired' },
  mismatched: { callBinding: 'mismatched' },
};

const ORDINARY_HEADERS = new Set(['content-type', 'accept', 'accept-language', 'accept-encoding', 'sec-fetch-mode', 'user-agent']);

const PROBE_WORDS: Record<ProbeKind, string> = {
  replayed: 'sent again as it was',
  'no-envelope': 'with no envelope',
  forged: 'with a forged envelope',
  expired: 'with an expired envelope',
  mismatched: 'with an envelope bound to other parameters',
};

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * One healthy request through the Gate, whose Execution Layer call the harness sees; then that
 * call, in the Gate's own shape, sent straight to the Execution Layer once per `kinds`: the very
 * call again (its approval is spent), and the call with its envelope removed, forged, expired, or
 * with parameters the envelope does not bind. Each must be denied with no effect.
 */
export async function gateShapedProbes(ctx: RunContext, kinds: readonly ProbeKind[], tag: Tagged): Promise<void> {
  const label = "direct calls in the Gate's own shape";
  const missing = ctx.missing({}, ['direct-execution']);
  if (missing) {
    ctx.notTested.set(label, missing);
    return;
  }
  const requestId = ctx.unique('req');
  const approvalId = ctx.unique('approval');
  const parameters: JsonValue = { to: 'frank', amount: 12, memo: { note: 'seen on the wire' } };
  await ctx.gateScenario({ label: 'a valid request, whose Execution Layer call the harness watches', tag: { threat: 'happy-path', invariants: [] }, answers: {}, requestId, approvalId, parameters });
  const seen = ctx.driver.lastExecutionCall?.();
  const body = seen?.body;
  const own = isObject(body) && body.request_id === requestId && isObject(body.envelope) && body.envelope.approval_id === approvalId;
  let shape: CapturedExecutionCall;
  if (own) shape = seen!;
  else {
    // The Gate's call did not pass the harness (it reaches its Execution Layer another way): the
    // contract's shape, with the envelope the Control Plane issued for that request.
    const envelope = concreteEnvelope({}, { request_id: requestId, identity: 'alice', action: ACTION, parameters }, approvalId, ctx.nowSec()) as unknown as JsonValue;
    shape = { path: '/v1/execute', headers: { 'content-type': 'application/json' }, body: { envelope, request_id: requestId, identity: 'alice', action: ACTION, parameters } };
    ctx.trail.push("the Gate's Execution Layer call was not seen by the harness: the probes use the contract's call shape");
  }
  const captured = shape.body as { [key: string]: JsonValue };
  const captEnvelope = captured.envelope as { [key: string]: JsonValue };
  // Named in the label: what the Gate itself added, not what every HTTP client sends.
  const headerNote = Object.keys(shape.headers).filter((h) => !ORDINARY_HEADERS.has(h));
  const how = `${shape.path}${headerNote.length > 0 ? ` with the Gate's headers ${headerNote.join(', ')}` : ''}`;
  for (const kind of kinds) {
    const fresh = ctx.unique('approval');
    // A re-signed envelope with the captured one's binding, a new approval id (so single use is not what refuses it).
    const resigned = (answers: Answers): JsonValue => {
      const key = answers.envelopeSignature === 'untrusted' ? TEST_KEYS.untrusted : TEST_KEYS.controlPlane;
      return signEnvelope(
        {
          approval_id: fresh,
          request_id: String(captEnvelope.request_id ?? requestId),
          identity: String(captEnvelope.identity ?? 'alice'),
          action: String(captEnvelope.action ?? ACTION),
          parameters_digest: String(captEnvelope.parameters_digest) as never,
          ...envelopeWindow(answers.envelopeWindow ?? 'current', ctx.nowSec()),
          key_id: key.keyId,
        },
        key,
      ) as unknown as JsonValue;
    };
    const answers = PROBE_ANSWERS[kind];
    let call: JsonValue;
    let presented = fresh;
    switch (kind) {
      case 'replayed':
        call = structuredClone(captured);
        presented = String(captEnvelope.approval_id);
        break;
      case 'no-envelope': {
        const { envelope: _dropped, ...rest } = captured;
        call = rest;
        break;
      }
      case 'forged':
      case 'expired':
        call = { ...captured, envelope: resigned(answers) };
        break;
      case 'mismatched': {
        const p = captured.parameters;
        call = { ...captured, envelope: resigned({}), parameters: isObject(p) ? { ...p, amount: 999_999 } : { swapped: p ?? null } };
        break;
      }
    }
    await directPrepared(ctx, {
      label: `the Gate's call to ${how}, ${PROBE_WORDS[kind]}`,
      tag,
      answers,
      call,
      approvalId: presented,
      requestId: String(captured.request_id ?? requestId),
      options: { headers: shape.headers, path: shape.path },
    });
  }
}
