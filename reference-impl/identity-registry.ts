/**
 * The identity key registry: a JSON file `{ "keys": [ { key_id, identity, public_key, state } ] }`.
 * The Gate asks for the keys on every request; the file is re-read when it changes, so revoking a
 * key takes effect on the next request without a restart.
 */
import { readFileSync, statSync } from 'node:fs';
import { parseStrictJson } from '../model/profile/canonical-json.ts';
import type { IdentityKey } from '../model/profile/messages.ts';
import { validateIdentityKey } from '../model/profile/messages.ts';

export function parseIdentityKeys(text: string, source = 'identity key registry'): IdentityKey[] {
  let doc;
  try {
    doc = parseStrictJson(text);
  } catch (error) {
    throw new Error(`${source} is not strict JSON: ${(error as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !Array.isArray(doc.keys)) {
    throw new Error(`${source} must be an object with a "keys" array`);
  }
  return doc.keys.map((entry, i) => {
    const result = validateIdentityKey(entry, `$.keys[${i}]`);
    if (!result.ok) throw new Error(`${source}: ${result.problems.map((p) => `${p.path} ${p.message}`).join('; ')}`);
    return result.value;
  });
}

/** A registry file, re-read whenever its modification time or size changes. */
export class IdentityRegistryFile {
  private keys: IdentityKey[];
  private stamp: string;

  constructor(private readonly path: string) {
    this.keys = parseIdentityKeys(readFileSync(path, 'utf8'), path);
    this.stamp = this.currentStamp();
  }

  private currentStamp(): string {
    const s = statSync(this.path);
    return `${s.mtimeMs}:${s.size}`;
  }

  /** The keys as the file says now. A file that became unreadable or invalid throws: the Gate denies. */
  current(): readonly IdentityKey[] {
    const stamp = this.currentStamp();
    if (stamp !== this.stamp) {
      this.keys = parseIdentityKeys(readFileSync(this.path, 'utf8'), this.path);
      this.stamp = stamp;
    }
    return this.keys;
  }
}
