/**
 * What a compliant system must still remember, given what the harness did to its clock: a claimed
 * (identity, action, nonce) is guaranteed only until twice the acceptance window past its
 * timestamp (model/system-memory.ts), measured on the system's clock — which the harness may have
 * moved far ahead (clock-offset). A request whose claim may have been forgotten is never replayed:
 * a compliant system could execute it again.
 */
import type { HistoryRecorder } from '../../harness/history-recorder.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { mayHaveForgotten, nonceRememberedUntil } from '../../model/system-memory.ts';
import { unixSeconds } from '../../model/time.ts';

const OFFSET_DETAIL = /^(-?\d+(?:\.\d+)?) ms$/;

/** The latest reading the system's clock may have made so far (harness ms), every offset the harness set included. */
export function systemClockHighMs(recorder: HistoryRecorder, nowMs: number = Date.now()): number {
  let high = nowMs;
  for (const event of recorder.events) {
    if (event.kind !== 'fault' || event.fault !== 'clock-offset') continue;
    const parsed = OFFSET_DETAIL.exec(event.detail ?? '');
    // An offset the history does not quantify could have been anything.
    if (!parsed) return Number.POSITIVE_INFINITY;
    high = Math.max(high, (event.until ?? nowMs) + Number(parsed[1]));
  }
  return high;
}

/**
 * Whether a compliant system must still remember this request's claim: its horizon is at least
 * twice the window past its timestamp (the claim time, unknown here, can only make it later).
 * An unparsed body claims nothing and is always "remembered".
 */
export function stillRemembered(request: ClientRequest | undefined, recorder: HistoryRecorder, acceptanceWindowSec: number): boolean {
  if (!request) return true;
  const until = nonceRememberedUntil(request.timestamp, request.timestamp, acceptanceWindowSec);
  return !mayHaveForgotten(until, unixSeconds(systemClockHighMs(recorder)));
}
