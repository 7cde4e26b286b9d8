/**
 * The system's clock as a history shows it: the harness's clock plus whatever offset the harness
 * had set (the `clock-offset` fault spans, "<ms> ms"). A predicate that judges time — a timestamp's
 * freshness when the Gate accepted a request, an envelope's window when an effect happened — does
 * not know the instant the system read its clock, only an interval of harness time; every whole
 * second the system's clock may have read over it is a reading a compliant system may have made
 * (model/time.ts). Judging at one instant instead would call a check made at the end of one second
 * wrong because the harness wrote its record in the next.
 */
import type { Millis } from '../history.ts';
import { secondsOver } from '../time.ts';
import type { HistoryIndex } from './history-index.ts';

const OFFSET_DETAIL = /^(-?\d+(?:\.\d+)?) ms$/;

/**
 * The events an interval lies between, when known: a span that began after the last of them, or
 * healed before the first, was not in force — whatever the milliseconds say, which many events share.
 */
export interface EventBounds {
  /** the event the interval starts at (or after) */
  after: number;
  /** the event it ends at */
  before: number;
}

/** The clock offsets (ms) in force at some instant of [startMs, endMs]; undefined when one is not quantified. */
export function offsetsOver(index: HistoryIndex, startMs: Millis, endMs: Millis, bounds?: EventBounds): number[] | undefined {
  const offsets = new Set<number>();
  let covered = false;
  for (const { event, eventIndex } of index.faults) {
    if (event.fault !== 'clock-offset') continue;
    const until = event.until ?? Number.POSITIVE_INFINITY;
    let overlaps: boolean;
    let covers: boolean;
    if (bounds && (event.until === null || event.untilIndex !== undefined)) {
      const healedAt = event.until === null ? Number.POSITIVE_INFINITY : event.untilIndex!;
      overlaps = eventIndex < bounds.before && healedAt > bounds.after;
      covers = eventIndex < bounds.after && healedAt > bounds.before;
    } else {
      overlaps = !(until < startMs || event.at > endMs);
      covers = event.at <= startMs && until >= endMs;
    }
    if (!overlaps) continue;
    const parsed = OFFSET_DETAIL.exec(event.detail ?? '');
    if (!parsed) return undefined;
    offsets.add(Number(parsed[1]));
    if (covers) covered = true;
  }
  if (!covered) offsets.add(0);
  return [...offsets];
}

/**
 * Every whole second the system's clock may have read between two harness instants, offsets
 * included, ascending; undefined when an offset was in force that the history does not quantify.
 */
export function systemSecondsOver(index: HistoryIndex, startMs: Millis, endMs: Millis, bounds?: EventBounds): number[] | undefined {
  const offsets = offsetsOver(index, startMs, endMs, bounds);
  if (!offsets) return undefined;
  const seconds = new Set<number>();
  for (const offset of offsets) for (const s of secondsOver(startMs + offset, endMs + offset)) seconds.add(s);
  return [...seconds].sort((a, b) => a - b);
}
