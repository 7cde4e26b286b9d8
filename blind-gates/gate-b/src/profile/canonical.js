// RFC 8785 (JCS) canonical JSON of a value read by the strict reader.
// Keys are sorted by UTF-16 code units (the default string order of JavaScript), numbers use
// the ECMAScript Number-to-String form (which RFC 8785 adopts), strings are serialized as
// JSON.stringify does (short escapes, lowercase \u00xx for other controls, everything else literal).

export class CanonicalizationError extends Error {}

export function canonicalize(value) {
  return write(value);
}

function write(v) {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new CanonicalizationError('non-finite number');
      return Object.is(v, -0) ? '0' : String(v);
    case 'string':
      if (!v.isWellFormed()) throw new CanonicalizationError('lone surrogate');
      return JSON.stringify(v);
    case 'object': {
      if (Array.isArray(v)) return '[' + v.map(write).join(',') + ']';
      const keys = Object.keys(v).sort();
      let out = '{';
      for (let k = 0; k < keys.length; k++) {
        if (k) out += ',';
        if (!keys[k].isWellFormed()) throw new CanonicalizationError('lone surrogate in key');
        out += JSON.stringify(keys[k]) + ':' + write(v[keys[k]]);
      }
      return out + '}';
    }
    default:
      throw new CanonicalizationError(`cannot canonicalize a ${typeof v}`);
  }
}

/** The object without one of its fields (used for signing inputs and record hashes). */
export function without(obj, field) {
  const copy = Object.create(null);
  for (const k of Object.keys(obj)) if (k !== field) copy[k] = obj[k];
  return copy;
}
