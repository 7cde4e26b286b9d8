/**
 * A planted-bug control ("mutant"): the reference with exactly one thing broken, and the
 * invariants the suite should name when it catches it. If the suite passes a mutant, the suite has
 * a blind spot — the kill matrix (kill-matrix.ts) exists to show that it has none.
 */
import type { InvariantId } from '../../model/profile/denial-codes.ts';
import type { ReferenceTarget } from '../../reference-impl/in-process-target.ts';

export interface Mutant {
  id: string;
  /** one line: what is broken */
  breaks: string;
  /**
   * the invariants the suite names when it catches it, as it really does (at least one must be
   * named); empty: caught as a wrong answer that breaks no invariant (a false denial)
   */
  expected: InvariantId[];
  target: ReferenceTarget;
  /** 'http': the variant is correct in-process and exists only over HTTP (e.g. a bug between replicas) */
  onlyOver?: 'http';
  /** over HTTP, how many replicas the kill matrix starts it with (default 1) */
  replicas?: number;
}
