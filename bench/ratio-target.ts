/**
 * A bench target is a ratio to a baseline measured in the same run (so a loaded or slow machine
 * shifts both). Each bench prints the target, the baseline, the ratio and BELOW TARGET when
 * missed; a baseline that could not be measured (zero, not finite, its own run failed) is not a
 * slow baseline but a broken bench: it makes the result not ok, with the reason on the line.
 */

export interface RatioTarget {
  /** what the ratio compares, e.g. "model steps/s ÷ bare XState transitions/s" */
  ratio: string;
  /** 'atLeast': ratio ≥ bound is met; 'atMost': ratio ≤ bound is met */
  direction: 'atLeast' | 'atMost';
  bound: number;
}

export interface RatioVerdict {
  value: number;
  met: boolean;
  /** false when the baseline could not be measured: the bench result must not be ok */
  measurable: boolean;
  line: string;
}

/** A measurement as a positive finite number, or why it is not one. */
export function unmeasurable(label: string, value: number): string | undefined {
  return Number.isFinite(value) && value > 0 ? undefined : `${label} could not be measured (${value})`;
}

export function judgeRatio(name: string, target: RatioTarget, measured: { label: string; value: number }, baseline: { label: string; value: number; failed?: string }): RatioVerdict {
  const broken = baseline.failed ?? unmeasurable(`baseline (${baseline.label})`, baseline.value) ?? unmeasurable(measured.label, measured.value);
  const bound = `${target.direction === 'atLeast' ? '≥' : '≤'} ${target.bound}`;
  if (broken) {
    return { value: Number.NaN, met: false, measurable: false, line: `${name}: TARGET ${target.ratio} ${bound}: NOT MEASURED — ${broken}` };
  }
  const value = measured.value / baseline.value;
  const met = target.direction === 'atLeast' ? value >= target.bound : value <= target.bound;
  return {
    value,
    met,
    measurable: true,
    line: `${name}: TARGET ${target.ratio} ${bound}: ${format(measured.value)} ÷ ${format(baseline.value)} = ${value.toFixed(3)}${met ? '  met' : '  BELOW TARGET'}`,
  };
}

function format(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en') : n.toPrecision(3);
}
