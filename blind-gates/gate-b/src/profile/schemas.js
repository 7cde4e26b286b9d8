// The contract's JSON Schemas (a vendored copy of failclosed-contract/1 schemas/), compiled with
// ajv (draft 2020-12). Every message that crosses a trust boundary is checked against its schema.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';

const Ajv2020 = Ajv2020Module.default ?? Ajv2020Module;
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');
const ajv = new Ajv2020({ allErrors: true, strict: false });
for (const file of readdirSync(dir).filter((f) => f.endsWith('.schema.json'))) {
  ajv.addSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')));
}

const BASE = 'https://failclosed.dev/contract/1/';
const cache = new Map();

/** Validate a value: { ok: true } or { ok: false, errors: [{ path, message }] }. */
export function validate(kind, value) {
  let fn = cache.get(kind);
  if (!fn) {
    fn = ajv.getSchema(`${BASE}${kind}.schema.json`);
    if (!fn) throw new Error(`unknown schema ${kind}`);
    cache.set(kind, fn);
  }
  if (fn(value)) return { ok: true };
  return { ok: false, errors: fn.errors.map((e) => ({ path: e.instancePath, message: e.message })) };
}

export function describeErrors(errors) {
  return errors.map((e) => `${e.path || '/'}: ${e.message}`).join('; ');
}
