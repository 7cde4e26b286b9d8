/**
 * Tampering that changes one deep leaf of a JSON value, and nothing else: how the harness swaps
 * approved parameters (an envelope bound to other parameters) and how a man in the middle rewrites
 * them in flight. A binding that misses the change misses it because it looked past that leaf.
 *
 * The leaf is the deepest one (a scalar or an empty container), the first of those in canonical
 * order (object keys by UTF-16 code units, array items by index), so the change is deterministic.
 */
import type { JsonObject, JsonValue } from './profile/canonical-json.ts';
import { canonicalize } from './profile/canonical-json.ts';

export type JsonPath = readonly (string | number)[];

function children(value: JsonValue): [string | number, JsonValue][] {
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.map((item, i) => [i, item]);
  return Object.keys(value)
    .sort()
    .map((key) => [key, value[key]!]);
}

/** The path to the deepest leaf, first in canonical order among the deepest. */
export function deepestLeafPath(value: JsonValue): JsonPath {
  let best: JsonPath = [];
  let bestDepth = -1;
  const visit = (node: JsonValue, path: (string | number)[]): void => {
    const kids = children(node);
    if (kids.length === 0) {
      if (path.length > bestDepth) [best, bestDepth] = [[...path], path.length];
      return;
    }
    for (const [key, child] of kids) visit(child, [...path, key]);
  };
  visit(value, []);
  return best;
}

/** A copy of `value` with the node at `path` replaced by `replace(node)`; `__proto__` stays an ordinary key. */
export function replaceAt(value: JsonValue, path: JsonPath, replace: (node: JsonValue) => JsonValue): JsonValue {
  if (path.length === 0) return replace(value);
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((item, i) => (i === head ? replaceAt(item, rest, replace) : item));
  const object = value as JsonObject;
  return Object.fromEntries(Object.keys(object).map((key) => [key, key === head ? replaceAt(object[key]!, rest, replace) : object[key]!]));
}

/** Another leaf of the same kind where there is one: a number becomes 1000000, a string ends in another character, … */
export function changedLeaf(leaf: JsonValue): JsonValue {
  if (leaf === null) return false;
  if (typeof leaf === 'boolean') return !leaf;
  if (typeof leaf === 'number') return leaf === 1_000_000 ? 1_000_001 : 1_000_000;
  if (typeof leaf === 'string') {
    const points = [...leaf];
    if (points.length === 0) return 'x';
    const last = points.pop();
    return `${points.join('')}${last === 'x' ? 'y' : 'x'}`;
  }
  if (Array.isArray(leaf)) return [true];
  return { tampered: true };
}

/** `value` with its deepest leaf changed: the smallest rewrite a binding must notice. */
export function changeDeepLeaf(value: JsonValue): JsonValue {
  return replaceAt(value, deepestLeafPath(value), changedLeaf);
}

/**
 * `value` with its deepest array of at least two different items reversed (the order of an array
 * is part of the value); undefined when it has none.
 */
export function reverseDeepArray(value: JsonValue): JsonValue | undefined {
  let best: JsonPath | undefined;
  let bestDepth = -1;
  const visit = (node: JsonValue, path: (string | number)[]): void => {
    if (Array.isArray(node) && node.length > 1 && path.length > bestDepth) {
      const forms = node.map((item) => canonicalize(item));
      if (forms.some((f, i) => f !== forms[forms.length - 1 - i])) [best, bestDepth] = [[...path], path.length];
    }
    for (const [key, child] of children(node)) visit(child, [...path, key]);
  };
  visit(value, []);
  return best ? replaceAt(value, best, (node) => [...(node as JsonValue[])].reverse()) : undefined;
}

/** "$.memo.tags[0]" */
export function formatPath(path: JsonPath): string {
  return `$${path.map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`)).join('')}`;
}
