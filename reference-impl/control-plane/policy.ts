/**
 * Policy rules for the reference Control Plane, read from a JSON file:
 *
 *   { "rules": [ { "identity": "alice", "action": "payments.transfer", "effect": "allow",
 *                  "constraints": { "amount": { "max": 100 }, "currency": { "oneOf": ["EUR"] } } } ] }
 *
 * Deny by default. A matching "deny" rule wins over any allow; an "allow" applies only when all
 * its constraints hold. Constraint paths are dotted paths into the parameters object.
 */
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalize, parseStrictJson } from '../../model/profile/canonical-json.ts';

export interface Constraint {
  min?: number;
  max?: number;
  equals?: JsonValue;
  oneOf?: JsonValue[];
}

export interface PolicyRule {
  /** an identity name, or "*" */
  identity: string;
  /** an action name, or "*" */
  action: string;
  effect: 'allow' | 'deny';
  constraints?: Record<string, Constraint>;
}

export interface Policy {
  rules: PolicyRule[];
}

export type PolicyDecision = { allowed: true } | { allowed: false; reason: string };

export class PolicyError extends Error {
  override name = 'PolicyError';
}

const CONSTRAINT_KEYS = new Set(['min', 'max', 'equals', 'oneOf']);

/** Reads and validates a policy document; errors name the offending rule and field. */
export function parsePolicy(text: string): Policy {
  let doc: JsonValue;
  try {
    doc = parseStrictJson(text);
  } catch (error) {
    throw new PolicyError(`policy is not strict JSON: ${(error as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !Array.isArray(doc.rules)) {
    throw new PolicyError('policy must be an object with a "rules" array');
  }
  const rules = doc.rules.map((rule, i): PolicyRule => {
    const where = `rules[${i}]`;
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) throw new PolicyError(`${where} must be an object`);
    for (const key of Object.keys(rule)) {
      if (!['identity', 'action', 'effect', 'constraints'].includes(key)) throw new PolicyError(`${where}.${key} is not a rule field`);
    }
    if (typeof rule.identity !== 'string' || rule.identity === '') throw new PolicyError(`${where}.identity must be a name or "*"`);
    if (typeof rule.action !== 'string' || rule.action === '') throw new PolicyError(`${where}.action must be a name or "*"`);
    if (rule.effect !== 'allow' && rule.effect !== 'deny') throw new PolicyError(`${where}.effect must be "allow" or "deny"`);
    const parsed: PolicyRule = { identity: rule.identity, action: rule.action, effect: rule.effect };
    if (rule.constraints !== undefined) {
      const constraints = rule.constraints;
      if (typeof constraints !== 'object' || constraints === null || Array.isArray(constraints)) {
        throw new PolicyError(`${where}.constraints must be an object`);
      }
      parsed.constraints = {};
      for (const [path, c] of Object.entries(constraints)) {
        if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new PolicyError(`${where}.constraints.${path} must be an object`);
        for (const key of Object.keys(c)) {
          if (!CONSTRAINT_KEYS.has(key)) throw new PolicyError(`${where}.constraints.${path}.${key} is not a constraint (min, max, equals, oneOf)`);
        }
        if (c.min !== undefined && typeof c.min !== 'number') throw new PolicyError(`${where}.constraints.${path}.min must be a number`);
        if (c.max !== undefined && typeof c.max !== 'number') throw new PolicyError(`${where}.constraints.${path}.max must be a number`);
        if (c.oneOf !== undefined && !Array.isArray(c.oneOf)) throw new PolicyError(`${where}.constraints.${path}.oneOf must be an array`);
        parsed.constraints[path] = c as Constraint;
      }
    }
    return parsed;
  });
  return { rules };
}

function valueAt(parameters: JsonValue, path: string): JsonValue | undefined {
  let current: JsonValue | undefined = parameters;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, part)) return undefined;
    current = current[part];
  }
  return current;
}

function holds(constraint: Constraint, value: JsonValue | undefined): boolean {
  if (value === undefined) return false;
  if (constraint.min !== undefined && !(typeof value === 'number' && value >= constraint.min)) return false;
  if (constraint.max !== undefined && !(typeof value === 'number' && value <= constraint.max)) return false;
  // Compare canonical forms: 1.0 equals 1, key order does not matter.
  if (constraint.equals !== undefined && canonicalize(value) !== canonicalize(constraint.equals)) return false;
  if (constraint.oneOf !== undefined && !constraint.oneOf.some((v) => canonicalize(v) === canonicalize(value))) return false;
  return true;
}

const matches = (pattern: string, name: string) => pattern === '*' || pattern === name;

export function evaluatePolicy(policy: Policy, identity: string, action: string, parameters: JsonValue): PolicyDecision {
  const applicable = policy.rules.filter((r) => matches(r.identity, identity) && matches(r.action, action));
  if (applicable.some((r) => r.effect === 'deny')) return { allowed: false, reason: 'a deny rule matches' };
  const allowing = applicable.filter((r) => r.effect === 'allow');
  if (allowing.length === 0) return { allowed: false, reason: 'no rule allows this identity and action' };
  const satisfied = allowing.some((r) => Object.entries(r.constraints ?? {}).every(([path, c]) => holds(c, valueAt(parameters, path))));
  return satisfied ? { allowed: true } : { allowed: false, reason: 'the parameters break the constraints of every allowing rule' };
}
