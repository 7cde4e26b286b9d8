import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonValueArbitrary } from '../conformance/generators/json-values.ts';
import { swappedParameters } from './concrete-scenario.ts';
import { changeDeepLeaf, deepestLeafPath, formatPath, reverseDeepArray } from './deep-leaf.ts';
import { canonicalize } from './profile/canonical-json.ts';
import type { JsonValue } from './profile/canonical-json.ts';

/** Leaves (scalars and empty containers) by path. */
function leaves(value: JsonValue, path = '$'): Map<string, string> {
  const out = new Map<string, string>();
  const kids = value !== null && typeof value === 'object' ? (Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value)) : [];
  if (kids.length === 0) out.set(path, canonicalize(value));
  for (const [k, v] of kids) for (const [p, c] of leaves(v, `${path}/${k}`)) out.set(p, c);
  return out;
}

describe('tampering with one deep leaf', () => {
  it('changes exactly one leaf, the deepest, and the canonical form with it', () => {
    fc.assert(
      fc.property(jsonValueArbitrary, (value) => {
        const changed = changeDeepLeaf(value);
        expect(canonicalize(changed)).not.toBe(canonicalize(value));
        const [before, after] = [leaves(value), leaves(changed)];
        const differing = [...before.keys()].filter((p) => before.get(p) !== after.get(p));
        // an empty container that gains a member turns into a container with one new leaf
        expect(differing.length).toBe(1);
      }),
      { numRuns: 300 },
    );
  });

  it('picks the deepest leaf, first in canonical order', () => {
    const value = { to: 'bob', amount: 10, memo: { note: 'rent', tags: ['march', 'flat'] } };
    expect(formatPath(deepestLeafPath(value))).toBe('$.memo.tags[0]');
    expect(changeDeepLeaf(value)).toEqual({ to: 'bob', amount: 10, memo: { note: 'rent', tags: ['marcx', 'flat'] } });
    expect(changeDeepLeaf(1_000_000)).toBe(1_000_001);
    expect(changeDeepLeaf(-0)).toBe(1_000_000);
    expect(changeDeepLeaf({ a: {} })).toEqual({ a: { tampered: true } });
    expect(changeDeepLeaf('😀')).toBe('x');
  });

  it('reverses the deepest array whose order matters', () => {
    expect(reverseDeepArray({ a: [1, 1], b: [[1, 2]] })).toEqual({ a: [1, 1], b: [[2, 1]] });
    expect(reverseDeepArray({ a: [1, 1] })).toBeUndefined();
    expect(swappedParameters({ a: [1, 1] }, 'array-order')).toEqual({ a: [1_000_000, 1] });
  });
});
