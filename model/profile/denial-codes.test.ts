import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_DENIAL_CODES, DENIAL_CODES, isDenialCode } from './denial-codes.ts';

describe('denial codes', () => {
  it('are documented in PROFILE.md, one row each, with the stage the code declares', () => {
    const doc = readFileSync(new URL('./PROFILE.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\w+) \|/gm)].map((m) => [m[1], m[2]]);
    expect(rows.map(([code]) => code).sort()).toEqual([...ALL_DENIAL_CODES].sort());
    for (const [code, stage] of rows) expect(DENIAL_CODES[code as keyof typeof DENIAL_CODES].stage).toBe(stage);
  });

  it('has a distinct replay code for nonces and for approvals', () => {
    expect(isDenialCode('REPLAY_DETECTED')).toBe(true);
    expect(isDenialCode('ENVELOPE_REPLAYED')).toBe(true);
    expect(isDenialCode('replay_detected')).toBe(false);
    expect(isDenialCode('toString')).toBe(false);
  });
});
