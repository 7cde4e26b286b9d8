/**
 * A binding digest computed another way than the profile's — SHA-256 of RFC 8785 canonical JSON —
 * used everywhere the system computes one (a shared library): the digest the Gate puts in its
 * question to the Control Plane, and the binding checks of the Gate and the Execution Layer. Such a
 * system agrees with itself; against the harness's Control Plane, which digests the canonical form,
 * it sends a `parameters_digest` that is not the digest of the client's value whenever its way and
 * the canonical one differ — which only generated data and byte spellings make happen.
 */
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import { sha256Digest } from '../../model/profile/digest.ts';
import type { ApprovalEnvelope, ClientRequest, TrustedKey } from '../../model/profile/messages.ts';
import type { EnvelopeBinding } from '../../model/profile/request-checks.ts';
import { checkEnvelope } from '../../model/profile/request-checks.ts';
import { nowSec } from '../../reference-impl/clock.ts';
import type { ExecutionCall } from '../../reference-impl/execution-layer/execution-layer.ts';
import { ExecutionLayer } from '../../reference-impl/execution-layer/execution-layer.ts';
import type { GateDependencies } from '../../reference-impl/gate/gate.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import type { ReferenceVariation } from '../../reference-impl/in-process-target.ts';

export type ParametersDigest = (parameters: JsonValue) => string;

/** The profile's envelope check, with the parameters compared through `digest`. */
function envelopeCheck(digest: ParametersDigest) {
  return (envelope: unknown, bound: EnvelopeBinding, trustedKeys: readonly TrustedKey[], now: number): DenialCode[] => {
    const codes = checkEnvelope(envelope, bound, trustedKeys, now);
    if (codes.includes('ENVELOPE_MISSING') || codes.includes('ENVELOPE_SIGNATURE_INVALID')) return codes;
    const e = envelope as ApprovalEnvelope;
    let ours: string | undefined;
    try {
      ours = digest(bound.parameters);
    } catch {
      ours = undefined;
    }
    const rest: DenialCode[] = codes.filter((c) => c !== 'ENVELOPE_BINDING_MISMATCH');
    if (e.request_id !== bound.request_id || e.identity !== bound.identity || e.action !== bound.action || ours !== e.parameters_digest) {
      rest.push('ENVELOPE_BINDING_MISMATCH');
    }
    return rest;
  };
}

export function bindingDigest(digest: ParametersDigest): ReferenceVariation {
  const check = envelopeCheck(digest);
  class OwnDigestGate extends Gate {
    constructor(deps: GateDependencies) {
      const controlPlane: GateDependencies['controlPlane'] = {
        ask: (question, signal) => deps.controlPlane.ask({ ...question, parameters_digest: digest(question.parameters) as never }, signal),
      };
      super({ ...deps, controlPlane });
    }
    protected override envelopeFailures(envelope: unknown, request: ClientRequest): DenialCode[] {
      return check(envelope, request, this.deps.trustedKeys(), nowSec(this.clock));
    }
  }
  class OwnDigestExecutionLayer extends ExecutionLayer {
    protected override envelopeFailures(envelope: unknown, call: ExecutionCall): DenialCode[] {
      return check(envelope, call, this.options.trustedKeys, nowSec(this.clock));
    }
  }
  return { makeGate: (deps) => new OwnDigestGate(deps), makeExecutionLayer: (options) => new OwnDigestExecutionLayer(options) };
}

export interface CanonicalOptions {
  compareKeys?: (a: string, b: string) => number;
  formatNumber?: (n: number) => string;
}

/** RFC 8785 but for the two choices a hand-written canonicaliser gets wrong: key order and number form. */
export function canonicalizeWith(value: JsonValue, options: CanonicalOptions): string {
  const compare = options.compareKeys;
  const number = options.formatNumber ?? String;
  const write = (v: JsonValue): string => {
    if (v === null || typeof v === 'boolean') return String(v);
    if (typeof v === 'number') return number(v);
    if (typeof v === 'string') return JSON.stringify(v);
    if (Array.isArray(v)) return `[${v.map(write).join(',')}]`;
    const keys = compare ? Object.keys(v).sort(compare) : Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${write(v[k]!)}`).join(',')}}`;
  };
  return write(value);
}

export const sha256Of = (text: string): string => sha256Digest(text);
