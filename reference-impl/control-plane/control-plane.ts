/**
 * The reference Control Plane: evaluates policy before issuing anything, and only on success
 * issues a short-lived approval envelope bound to one request id, identity, action and the digest
 * of the exact parameters — recomputed here, never taken from the question.
 */
import { randomUUID } from 'node:crypto';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { digestJson, digestsEqual } from '../../model/profile/digest.ts';
import type { ControlPlaneAnswer, PolicyQuestion, TrustedKey } from '../../model/profile/messages.ts';
import { ID_PATTERN, NAME_PATTERN, signEnvelope } from '../../model/profile/messages.ts';
import type { KeyPair } from '../../model/profile/signing.ts';
import { publicKeyToText } from '../../model/profile/signing.ts';
import type { Clock } from '../clock.ts';
import { nowSec, systemClock } from '../clock.ts';
import type { Policy } from './policy.ts';
import { evaluatePolicy } from './policy.ts';

export const DEFAULT_ENVELOPE_TTL_SEC = 30;

export interface ControlPlaneOptions {
  policy: Policy;
  /** signing keys; the first one signs, all are published (so rotation works) */
  signingKeys: KeyPair[];
  clock?: Clock;
  envelopeTtlSec?: number;
}

export class ControlPlane {
  private policy: Policy;
  private signingKeys: KeyPair[];
  private readonly clock: Clock;
  private readonly ttlSec: number;

  constructor(options: ControlPlaneOptions) {
    if (options.signingKeys.length === 0) throw new Error('the Control Plane needs at least one signing key');
    this.policy = options.policy;
    this.signingKeys = options.signingKeys;
    this.clock = options.clock ?? systemClock;
    this.ttlSec = options.envelopeTtlSec ?? DEFAULT_ENVELOPE_TTL_SEC;
  }

  /** The public keys a Gate and an Execution Layer must trust. */
  publicKeys(): TrustedKey[] {
    return this.signingKeys.map((k) => ({ key_id: k.keyId, public_key: publicKeyToText(k.publicKey) }));
  }

  /** Makes `key` the signing key; older keys stay published until `retire`. */
  rotate(key: KeyPair): void {
    this.signingKeys = [key, ...this.signingKeys.filter((k) => k.keyId !== key.keyId)];
  }

  retire(keyId: string): void {
    if (this.signingKeys[0]?.keyId === keyId) throw new Error('cannot retire the current signing key');
    this.signingKeys = this.signingKeys.filter((k) => k.keyId !== keyId);
  }

  setPolicy(policy: Policy): void {
    this.policy = policy;
  }

  /** Answers a policy question. Anything that is not a well-formed question is denied. */
  decide(question: unknown): ControlPlaneAnswer {
    const q = readQuestion(question);
    if (typeof q === 'string') return { decision: 'deny', reason: q };
    const decision = evaluatePolicy(this.policy, q.identity, q.action, q.parameters);
    if (!decision.allowed) return { decision: 'deny', reason: decision.reason };
    const now = nowSec(this.clock);
    const key = this.signingKeys[0]!;
    const envelope = signEnvelope(
      {
        approval_id: `approval-${randomUUID()}`,
        request_id: q.request_id,
        identity: q.identity,
        action: q.action,
        // readQuestion computed it from the parameters themselves (the question's own was only compared)
        parameters_digest: q.parameters_digest,
        issued_at: now,
        expires_at: now + this.ttlSec,
        key_id: key.keyId,
      },
      key,
    );
    return { decision: 'allow', envelope };
  }
}

/** A policy question, or the reason it is not one. */
function readQuestion(value: unknown): PolicyQuestion | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the question is not an object';
  const q = value as Record<string, unknown>;
  if (typeof q.request_id !== 'string' || !ID_PATTERN.test(q.request_id)) return 'request_id is missing or malformed';
  if (typeof q.identity !== 'string' || !NAME_PATTERN.test(q.identity)) return 'identity is missing or malformed';
  if (typeof q.action !== 'string' || !NAME_PATTERN.test(q.action)) return 'action is missing or malformed';
  if (!Object.hasOwn(q, 'parameters')) return 'parameters are missing';
  let digest;
  try {
    digest = digestJson(q.parameters);
  } catch {
    return 'parameters have no canonical form';
  }
  // A question whose digest disagrees with its parameters is tampered or confused: refuse it.
  if (typeof q.parameters_digest !== 'string' || !digestsEqual(q.parameters_digest, digest)) return 'parameters_digest does not match the parameters';
  return { request_id: q.request_id, identity: q.identity, action: q.action, parameters: q.parameters as JsonValue, parameters_digest: digest };
}
