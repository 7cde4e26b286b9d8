// The system clock, in one place: the Gate, the Execution Layer and the stores read time here.
import { defect } from './defects.js';

export function nowMs() {
  return Date.now();
}

/** Unix seconds: the current second (floor). */
export function nowSec() {
  // DEFECT clock-round: rounds to the nearest second, so the clock runs up to 0.5 s ahead.
  if (defect('clock-round')) return Math.round(nowMs() / 1000);
  return Math.floor(nowMs() / 1000);
}
