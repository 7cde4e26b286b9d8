/**
 * The INV-1…INV-6 predicates over a recorded History, and a runner that checks them all against
 * one shared index.
 */
import type { History, InvariantVerdict } from '../history.ts';
import type { InvariantId } from '../profile/denial-codes.ts';
import { INVARIANT_IDS } from '../profile/denial-codes.ts';
import type { HistoryIndex } from './history-index.ts';
import { buildHistoryIndex } from './history-index.ts';
import { INV_1_STATEMENT, checkInv1 } from './inv-1-policy-before-execution.ts';
import { INV_2_STATEMENT, checkInv2 } from './inv-2-argument-binding.ts';
import { INV_3_STATEMENT, checkInv3 } from './inv-3-authentic-fresh-single-use.ts';
import { INV_4_STATEMENT, checkInv4 } from './inv-4-fail-closed.ts';
import { INV_5_STATEMENT, checkInv5 } from './inv-5-attributable-audit.ts';
import { INV_6_STATEMENT, checkInv6 } from './inv-6-no-bypass.ts';

export type InvariantCheck = (history: History, index?: HistoryIndex) => InvariantVerdict;

export interface InvariantCheckEntry {
  check: InvariantCheck;
  /** one line, for reports */
  statement: string;
}

export const INVARIANT_CHECKS: Readonly<Record<InvariantId, InvariantCheckEntry>> = {
  'INV-1': { check: checkInv1, statement: INV_1_STATEMENT },
  'INV-2': { check: checkInv2, statement: INV_2_STATEMENT },
  'INV-3': { check: checkInv3, statement: INV_3_STATEMENT },
  'INV-4': { check: checkInv4, statement: INV_4_STATEMENT },
  'INV-5': { check: checkInv5, statement: INV_5_STATEMENT },
  'INV-6': { check: checkInv6, statement: INV_6_STATEMENT },
};

/** All six verdicts, in INV-1…INV-6 order, from one parse of the history. */
export function checkInvariants(history: History): InvariantVerdict[] {
  const index = buildHistoryIndex(history);
  return INVARIANT_IDS.map((id) => INVARIANT_CHECKS[id].check(history, index));
}

export { buildHistoryIndex, checkInv1, checkInv2, checkInv3, checkInv4, checkInv5, checkInv6 };
export { INV_1_STATEMENT, INV_2_STATEMENT, INV_3_STATEMENT, INV_4_STATEMENT, INV_5_STATEMENT, INV_6_STATEMENT };
export type { HistoryIndex };
