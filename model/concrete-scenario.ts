/**
 * How each of the model's answers is made concrete: the signed request and the envelope that put
 * a system into a scenario. Shared by the materializer (model runs → a History) and by the live
 * drivers, so that a scenario means the same bytes everywhere.
 */
import { changeDeepLeaf, reverseDeepArray } from './deep-leaf.ts';
import type { JsonValue } from './profile/canonical-json.ts';
import { digestJson } from './profile/digest.ts';
import type { ApprovalEnvelope, ClientRequest, UnsignedEnvelope, UnsignedRequest } from './profile/messages.ts';
import { signEnvelope, signRequest } from './profile/messages.ts';
import { testKeyPair } from './profile/signing.ts';
import type { Question } from './questions.ts';
import { TEST_KEYS } from './history-builder.ts';

export type Answers = Partial<Record<Question, string>>;

/** A key no registry knows, for `identityKey.unknown`. */
export const STRANGER_KEY = testKeyPair('stranger');
export const DEFAULT_ENVELOPE_TTL_SEC = 60;
export const OUTSIDE_WINDOW_SEC = 60;

export const answersOf = (run: { steps: readonly { question: Question; answer: string }[] }): Answers =>
  Object.fromEntries(run.steps.map((s) => [s.question, s.answer]));

export interface RequestFields {
  request_id: string;
  action: string;
  parameters: JsonValue;
  nonce: string;
  /** alice (default) or bob: both have active keys; alice also has a revoked one */
  identity?: 'alice' | 'bob';
}

/**
 * The request the answers describe, from alice: signed with her active, revoked or an unknown key,
 * fresh, stale or in the future, with a bad signature or nonce — or a malformed body (a string).
 */
export function concreteRequest(a: Answers, fields: RequestFields, nowSec: number, acceptanceWindowSec: number): ClientRequest | string {
  if (a.requestShape === 'malformed') return `{"request_id":"${fields.request_id}","identity":"alice"`;
  const identity = fields.identity ?? 'alice';
  const own = identity === 'bob' ? TEST_KEYS.bob : TEST_KEYS.alice;
  const key = a.identityKey === 'revoked' ? TEST_KEYS.aliceRevoked : a.identityKey === 'unknown' ? STRANGER_KEY : own;
  // A minute beyond the window, so a replay a little later is still outside it.
  const timestamp =
    a.timestamp === 'stale' ? nowSec - acceptanceWindowSec - OUTSIDE_WINDOW_SEC : a.timestamp === 'future' ? nowSec + acceptanceWindowSec + OUTSIDE_WINDOW_SEC : nowSec;
  const { identity: _identity, ...rest } = fields;
  const unsigned: UnsignedRequest = {
    ...rest,
    identity: a.identityKey === 'revoked' ? 'alice' : identity,
    timestamp,
    key_id: key.keyId,
    ...(a.requestShape === 'nonceMalformed' ? { nonce: 'bad nonce!' } : {}),
  };
  // An invalid signature: made by another key than the one key_id names.
  return signRequest(unsigned, a.signature === 'invalid' ? (key === TEST_KEYS.bob ? TEST_KEYS.alice : TEST_KEYS.bob) : key);
}

/** A current envelope was issued a little before now, so a few seconds of clock skew do not void it. */
export const ISSUE_SKEW_SEC = 5;

/** Validity times for an envelopeWindow answer; `edge` puts an expired envelope exactly at its expiry. */
export function envelopeWindow(answer: string | undefined, nowSec: number, edge = false): Pick<UnsignedEnvelope, 'issued_at' | 'expires_at'> {
  if (answer === 'expired') return edge ? { issued_at: nowSec - 60, expires_at: nowSec } : { issued_at: nowSec - 120, expires_at: nowSec - 60 };
  if (answer === 'notYetValid') return edge ? { issued_at: nowSec + 2, expires_at: nowSec + 62 } : { issued_at: nowSec + 60, expires_at: nowSec + 120 };
  return { issued_at: nowSec - ISSUE_SKEW_SEC, expires_at: nowSec + DEFAULT_ENVELOPE_TTL_SEC };
}

export type Bound = Pick<ClientRequest, 'request_id' | 'identity' | 'action' | 'parameters'>;

/**
 * Parameters that differ from `parameters` in one place (a binding must notice): `nested` changes
 * its deepest leaf, `array-order` reverses its deepest array of different items (else changes the
 * deepest leaf), `whole` is other parameters altogether.
 */
export function swappedParameters(parameters: JsonValue, variant: 'nested' | 'array-order' | 'whole' = 'whole'): JsonValue {
  if (variant === 'array-order') return reverseDeepArray(parameters) ?? changeDeepLeaf(parameters);
  if (variant === 'nested') return changeDeepLeaf(parameters);
  return { swapped: true };
}

export interface EnvelopeOptions {
  /** put an expired / not-yet-valid envelope right at the edge of its window */
  edge?: boolean;
  /** how otherParameters differs from the real parameters */
  swap?: 'nested' | 'array-order' | 'whole';
  /** exact validity times, on the system's clock (instead of the window answer at the Control Plane's now) */
  window?: Pick<UnsignedEnvelope, 'issued_at' | 'expires_at'>;
}

/** The envelope a Control Plane answer carries: bound as the binding answer says, signed as the answer says. */
export function concreteEnvelope(a: Answers, request: Bound, approvalId: string, nowSec: number, options: EnvelopeOptions = {}): ApprovalEnvelope {
  const binding =
    a.envelopeBinding === 'otherRequest' ? { request_id: `${request.request_id}-other` }
    : a.envelopeBinding === 'otherIdentity' ? { identity: request.identity === 'bob' ? 'alice' : 'bob' }
    : a.envelopeBinding === 'otherAction' ? { action: `${request.action}.other` }
    : a.envelopeBinding === 'otherParameters' ? { parameters_digest: digestJson(swappedParameters(request.parameters, options.swap)) }
    : {};
  const key = a.controlPlane === 'forged' ? TEST_KEYS.untrusted : TEST_KEYS.controlPlane;
  return signEnvelope(
    {
      approval_id: approvalId,
      request_id: request.request_id,
      identity: request.identity,
      action: request.action,
      parameters_digest: digestJson(request.parameters),
      ...(options.window ?? envelopeWindow(a.envelopeWindow, nowSec, options.edge)),
      key_id: key.keyId,
      ...binding,
    },
    key,
  );
}
