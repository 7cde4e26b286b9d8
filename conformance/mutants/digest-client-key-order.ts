/**
 * Breaks INV-2: the binding digest is SHA-256 of `JSON.stringify` of the parsed parameters — the
 * key order the client sent (a JavaScript object lists integer-like keys first, in numeric order),
 * not RFC 8785's. It agrees with the canonical digest for every body the harness used to send
 * (canonical bytes, no integer-like keys): only another spelling of the same value shows it, as a
 * question whose `parameters_digest` is not the digest of the client's value.
 * (Blind gates: A `insertion-order-digest`, B `digest-client-order`.)
 */
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import { bindingDigest, sha256Of } from './binding-digest.ts';
import type { Mutant } from './mutant.ts';

export const digestClientKeyOrder: Mutant = {
  id: 'digest-client-key-order',
  breaks: "the binding digest hashes JSON.stringify of the parsed parameters: the client's key order, not the canonical one",
  expected: ['INV-2'],
  target: referenceTarget('mutant:digest-client-key-order', bindingDigest((parameters) => sha256Of(JSON.stringify(parameters)))),
};
