/** The permalink fragments the model explorer page reads (page-main.ts `load`). */

/** One model scenario: its chart, prior history and unhealthy answers (every other answer healthy). */
export function explorerFragment(chart: 'gate' | 'executionLayer', prior: string, unhealthyAnswers: readonly string[]): string {
  return `#chart=${chart}&prior=${prior}&scenario=${unhealthyAnswers.join(',')}`;
}
