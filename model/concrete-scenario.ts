/**
 * How each of the model's answers is made concrete: the signed request and the envelope that put
 * a system into a scenario. Shared by the materializer (model runs → a History) and by the live
 * drivers, so that a scenario means the same bytes everywhere.
 */
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

export const answersOf = (run: { steps: readonly { question: Question; answer: string }[] }): Answers =>
  Object.fromEntries(run.steps.map((s) => [s.question, s.answer]));

export interface RequestFields {
  request_id: string;
  action: string;
  parameters: JsonValue;
  nonce: string;
}

/**
 * The request the answers describe, from alice: signed with her active, revoked or an unknown key,
 * fresh, stale or in the future, with a bad signature or nonce — or a malformed body (a string).
 */
export function concreteRequest(a: Answers, fields: RequestFields, nowSec: number, acceptanceWindowSec: number): ClientRequest | string {
  if (a.requestShape === 'malformed') return `{"request_id":"${fields.request_id}","identity":"alice"`;
  const key = a.identityKey === 'revoked' ? TEST_KEYS.aliceRevoked : a.identityKey === 'unknown' ? STRANGER_KEY : TEST_KEYS.alice;
  const timestamp =
    a.timestamp === 'stale' ? nowSec - acceptanceWindowSec - 1 : a.timestamp === 'future' ? nowSec + acceptanceWindowSec + 1 : nowSec;
  const unsigned: UnsignedRequest = {
    ...fields,
    identity: 'alice',
    timestamp,
    key_id: key.keyId,
    ...(a.requestShape === 'nonceMalformed' ? { nonce: 'bad nonce!' } : {}),
  };
  // An invalid signature: made by another key than the one key_id names.
  return signRequest(unsigned, a.signature === 'invalid' ? TEST_KEYS.bob : key);
}

/** Validity times for an envelopeWindow answer. */
export function envelopeWindow(answer: string | undefined, nowSec: number): Pick<UnsignedEnvelope, 'issued_at' | 'expires_at'> {
  if (answer === 'expired') return { issued_at: nowSec - 120, expires_at: nowSec - 60 };
  if (answer === 'notYetValid') return { issued_at: nowSec + 60, expires_at: nowSec + 120 };
  return { issued_at: nowSec, expires_at: nowSec + DEFAULT_ENVELOPE_TTL_SEC };
}

/** The envelope a Control Plane answer carries: bound as the binding answer says, signed as the answer says. */
export function concreteEnvelope(a: Answers, request: ClientRequest, approvalId: string, nowSec: number): ApprovalEnvelope {
  const binding =
    a.envelopeBinding === 'otherRequest' ? { request_id: `${request.request_id}-other` }
    : a.envelopeBinding === 'otherIdentity' ? { identity: 'bob' }
    : a.envelopeBinding === 'otherAction' ? { action: `${request.action}.other` }
    : a.envelopeBinding === 'otherParameters' ? { parameters_digest: digestJson({ swapped: true }) }
    : {};
  const key = a.controlPlane === 'forged' ? TEST_KEYS.untrusted : TEST_KEYS.controlPlane;
  return signEnvelope(
    {
      approval_id: approvalId,
      request_id: request.request_id,
      identity: request.identity,
      action: request.action,
      parameters_digest: digestJson(request.parameters),
      ...envelopeWindow(a.envelopeWindow, nowSec),
      key_id: key.keyId,
      ...binding,
    },
    key,
  );
}
