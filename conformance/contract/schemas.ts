/**
 * The contract's JSON Schemas (draft 2020-12), loaded from schemas/ and compiled once with ajv in
 * strict mode. `validateMessage(kind, value)` is what `failclosed doctor` and the tests use to
 * judge a message a vendor's system sent (or one the harness is about to send).
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { CONTRACT_BASE_URI, PROFILE_DEFS_FILE } from './profile-defs.ts';

export const MESSAGE_KINDS = [
  'request',
  'gate-answer',
  'policy-question',
  'control-plane-answer',
  'envelope',
  'execution-call',
  'execution-result',
  'effect-record',
  'audit-record',
  'audit-export',
  'gateway-event',
  'identity-keys',
  'trusted-keys',
  'health',
  'hello',
  'fault-command',
  'clock-command',
  'gate-config',
] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

export const SCHEMA_DIR = new URL('schemas/', import.meta.url);

/** Every schema file: one per message kind, plus the generated profile definitions they refer to. */
export const SCHEMA_FILES: readonly string[] = [PROFILE_DEFS_FILE, ...MESSAGE_KINDS.map(schemaFileOf)];

export function schemaFileOf(kind: MessageKind): string {
  return `${kind}.schema.json`;
}

export function schemaIdOf(kind: MessageKind): string {
  return `${CONTRACT_BASE_URI}${schemaFileOf(kind)}`;
}

/** The parsed schema file, as published. */
export function readSchema(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(file, SCHEMA_DIR), 'utf8')) as Record<string, unknown>;
}

export type MessageValidation = { ok: true } | { ok: false; errors: string[] };

let compiled: Map<MessageKind, ValidateFunction> | undefined;

function validators(): Map<MessageKind, ValidateFunction> {
  if (compiled) return compiled;
  // strict: a typo in a keyword, a pattern that is not a valid ECMAScript regex or a type mismatch
  // is a schema bug, and must fail here rather than silently accept everything.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  for (const file of SCHEMA_FILES) ajv.addSchema(readSchema(file));
  const built = new Map<MessageKind, ValidateFunction>();
  for (const kind of MESSAGE_KINDS) {
    const validate = ajv.getSchema(schemaIdOf(kind));
    if (!validate) throw new Error(`schema ${schemaIdOf(kind)} did not load`);
    built.set(kind, validate);
  }
  compiled = built;
  return built;
}

export function validateMessage(kind: MessageKind, value: unknown): MessageValidation {
  const validate = validators().get(kind);
  if (!validate) throw new Error(`unknown message kind "${String(kind)}"`);
  if (validate(value)) return { ok: true };
  return { ok: false, errors: describeErrors(validate.errors ?? []) };
}

/** One line per problem: the JSON pointer of the offending value, then what is wrong with it. */
export function describeErrors(errors: readonly ErrorObject[]): string[] {
  // With allErrors an if/then failure is reported twice: by the rule that failed and by "if".
  const specific = errors.filter((e) => e.keyword !== 'if');
  const lines = (specific.length > 0 ? specific : errors).map(describeError);
  return [...new Set(lines)];
}

function describeError(error: ErrorObject): string {
  const at = error.instancePath === '' ? '/' : error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${at}: the field "${String(params.missingProperty)}" is missing`;
    case 'additionalProperties':
      return `${at}: "${String(params.additionalProperty)}" is not a field of this message`;
    case 'false schema':
      return `${at}: must not be present here`;
    case 'enum': {
      const allowed = (params.allowedValues as unknown[] | undefined) ?? [];
      return `${at}: must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    case 'const':
      return `${at}: must be ${JSON.stringify(params.allowedValue)}`;
    default:
      return `${at}: ${error.message ?? error.keyword}`;
  }
}
