/**
 * Breaks INV-2: the binding digest (the Gate's question to the Control Plane, the Gate's and the
 * Execution Layer's binding checks) keeps only the top level; nested objects and arrays count as
 * empty.
 *
 * Caught by the digest the Gate puts in its question to the Control Plane, which the harness
 * recomputes from the parameters sent: a binding that ignores nested keys would approve other
 * parameters under the same digest.
 */
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import { lossyDigest } from './lossy-digest.ts';
import type { Mutant } from './mutant.ts';

function topLevelOnly(parameters: JsonValue): JsonValue {
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) return parameters;
  const flat: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(parameters)) {
    flat[key] = typeof value !== 'object' || value === null ? value : Array.isArray(value) ? [] : {};
  }
  return flat;
}

export const digestIgnoresNestedKeys: Mutant = {
  id: 'digest-ignores-nested-keys',
  breaks: "the binding digest ignores nested objects' contents",
  expected: ['INV-2'],
  target: referenceTarget('mutant:digest-ignores-nested-keys', lossyDigest(topLevelOnly)),
};
