/**
 * The planted-bug controls: the reference must be compliant and every mutant caught, by the
 * invariants it declares. One quick-profile matrix for a fixed seed, shared by every case, so a
 * failure names the mutant that got through.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PROFILES } from '../profiles.ts';
import { MUTANTS } from './index.ts';
import type { KillMatrix } from './kill-matrix.ts';
import { formatKillMatrix, runKillMatrix } from './kill-matrix.ts';

const SEED = 42;

describe('kill matrix (quick profile, seed 42)', () => {
  let matrix: KillMatrix;

  beforeAll(async () => {
    matrix = await runKillMatrix({ profile: PROFILES.quick, seed: SEED });
    console.log(formatKillMatrix(matrix));
  }, 300_000);

  it('passes the unmodified reference', () => {
    expect(matrix.reference).toMatchObject({ verdict: 'compliant', reasons: [] });
  });

  it('has one row per mutant, each breaking something different', () => {
    expect(matrix.rows.map((r) => r.id)).toEqual(MUTANTS.map((m) => m.id));
    expect(new Set(MUTANTS.map((m) => m.id)).size).toBe(MUTANTS.length);
    expect(MUTANTS.length).toBeGreaterThanOrEqual(14);
  });

  it.each(MUTANTS.map((m) => [m.id, m] as const))('catches %s', (id, mutant) => {
    const row = matrix.rows.find((r) => r.id === id);
    if (mutant.onlyOver === 'http') {
      // Correct in-process by design: harness/replica-interleaving.test.ts catches it over HTTP.
      console.log(`${id}: exists only over HTTP (${mutant.replicas ?? 1} replicas); its row here is marked so`);
      expect(row?.applicable).toBe(false);
      return;
    }
    expect(row?.verdict, row?.message).toBe('non-compliant');
    if (mutant.expected.length === 0) {
      // Declared as a false denial: the suite must say so rather than blame an invariant.
      expect(row?.caughtBy).toEqual([]);
    } else {
      expect(row?.caughtBy.filter((inv) => mutant.expected.includes(inv)), `${row?.caughtBy.join(', ')}: ${row?.message}`).not.toEqual([]);
    }
    expect(row?.counterexampleLength).toBeGreaterThan(0);
  });

  it('agrees with its own summary', () => {
    expect(matrix.ok).toBe(true);
    const inProcess = MUTANTS.filter((m) => m.onlyOver !== 'http').length;
    expect(formatKillMatrix(matrix)).toMatch(new RegExp(`^OK: reference compliant; ${inProcess}/${inProcess} mutants caught`, 'm'));
  });
});
