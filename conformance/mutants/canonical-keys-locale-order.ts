/**
 * Breaks INV-2: the binding digest's canonical JSON sorts object keys with `localeCompare` (`a`
 * before `B`, `_` first, `é` before `f`, a character beyond the BMP before U+FF61) instead of by
 * UTF-16 code units. Every key the harness used to send is lower-case ASCII, where both orders
 * agree: only generated keys show it.
 */
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import { bindingDigest, canonicalizeWith, sha256Of } from './binding-digest.ts';
import type { Mutant } from './mutant.ts';

export const canonicalKeysLocaleOrder: Mutant = {
  id: 'canonical-keys-locale-order',
  breaks: 'the canonical JSON of the binding digest sorts keys with localeCompare instead of by UTF-16 code units',
  expected: ['INV-2'],
  target: referenceTarget(
    'mutant:canonical-keys-locale-order',
    bindingDigest((parameters) => sha256Of(canonicalizeWith(parameters, { compareKeys: (a, b) => a.localeCompare(b) }))),
  ),
};
