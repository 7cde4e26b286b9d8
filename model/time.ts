/**
 * Time as the model reads it (CONTRACT.md section 3, "Time"): a system's clock is read in whole
 * unix seconds, floor(ms / 1000) of the same millisecond clock that stamps its audit records, at
 * the moment of each check. A request is fresh when `now − window ≤ timestamp ≤ now + window`; an
 * envelope is current when `issued_at ≤ now < expires_at`.
 *
 * The harness never knows the exact instant a system read its clock, only an interval (from the
 * moment it sent a request to the moment the answer came back). Every whole second of that
 * interval is a reading the system may have made, so a prediction is made for each and the
 * observed outcome must match one of them (`secondsOver`): exact when the interval lies inside one
 * second, fair when it straddles two.
 */
import type { AnswerTo } from './questions.ts';

/** Whole unix seconds of a millisecond clock reading: floored, never rounded. */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** Every whole second a clock may have read between two instants (inclusive, in order). */
export function secondsOver(startMs: number, endMs: number): number[] {
  const first = unixSeconds(Math.min(startMs, endMs));
  const last = unixSeconds(Math.max(startMs, endMs));
  const seconds: number[] = [];
  for (let s = first; s <= last; s++) seconds.push(s);
  return seconds;
}

/** The freshness answer of a request timestamp at a clock reading: the window's edges are inside it. */
export function timestampAnswer(timestampSec: number, nowSec: number, acceptanceWindowSec: number): AnswerTo<'timestamp'> {
  if (timestampSec < nowSec - acceptanceWindowSec) return 'stale';
  if (timestampSec > nowSec + acceptanceWindowSec) return 'future';
  return 'inWindow';
}

/** The envelope window answer at a clock reading: from issued_at inclusive to expires_at exclusive. */
export function envelopeWindowAnswer(window: { issued_at: number; expires_at: number }, nowSec: number): AnswerTo<'envelopeWindow'> {
  if (nowSec >= window.expires_at) return 'expired';
  if (nowSec < window.issued_at) return 'notYetValid';
  return 'current';
}
