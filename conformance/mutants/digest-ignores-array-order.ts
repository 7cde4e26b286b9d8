/**
 * Breaks INV-2: the binding digest (the Gate's question, the Gate's and the Execution Layer's
 * checks) sorts arrays.
 *
 * Caught like digest-ignores-nested-keys: by the digest the Gate sends the Control Plane.
 */
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalize } from '../../model/profile/canonical-json.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import { lossyDigest } from './lossy-digest.ts';
import type { Mutant } from './mutant.ts';

function sortArrays(value: JsonValue): JsonValue {
  if (Array.isArray(value)) {
    return value.map(sortArrays).sort((a, b) => (canonicalize(a) < canonicalize(b) ? -1 : canonicalize(a) > canonicalize(b) ? 1 : 0));
  }
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, sortArrays(v)]));
}

export const digestIgnoresArrayOrder: Mutant = {
  id: 'digest-ignores-array-order',
  breaks: 'the binding digest sorts arrays',
  expected: ['INV-2'],
  target: referenceTarget('mutant:digest-ignores-array-order', lossyDigest(sortArrays)),
};
