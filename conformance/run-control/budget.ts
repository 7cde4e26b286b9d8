/**
 * How long the random phase may go on. A run in flight is never cut: the budget is consulted only
 * before a run starts, so every run that started is finished and judged.
 *
 * - An explicit number of runs is honoured: the profile's time budget does not apply to it (an
 *   explicit time budget still does, and then the verdict says how many of the runs requested ran).
 * - The profile's own runs stop at its time budget — but a slow system that has not reached the
 *   profile's step floor yet gets more time, up to `FLOOR_EXTENSION` times the budget, so that
 *   correct-but-slow is judged rather than called inconclusive.
 * - Shrinking a failure has an allowance of its own, so a failure found late still shrinks.
 */
import type { Profile } from '../profiles.ts';

export const FLOOR_EXTENSION = 4;

export type StopReason = 'all runs done' | 'time budget' | 'failure' | 'not run';

export interface BudgetOptions {
  /** an explicit number of random runs (overrides the profile's) */
  runs?: number;
  /** one shard of a campaign: its share of the runs (shard index 1…count) */
  shard?: { index: number; count: number };
  /** an explicit time budget for the random phase, in milliseconds */
  timeBudgetMs?: number;
}

export class RunBudget {
  readonly requestedRuns: number;
  readonly explicitRuns: boolean;
  /** undefined: no time limit (explicit runs without an explicit budget) */
  readonly timeBudgetMs: number | undefined;
  readonly explicitBudget: boolean;
  private startedAt: number | undefined;
  private failureAt: number | undefined;
  /** the budget ran out while runs were still wanted */
  private cut = false;
  /** more time was taken than the budget, to reach the step floor */
  extended = false;

  constructor(
    private readonly profile: Profile,
    options: BudgetOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.explicitRuns = options.runs !== undefined;
    const all = options.runs ?? profile.runs;
    const shard = options.shard;
    this.requestedRuns = shard ? Math.floor(all / shard.count) + (shard.index <= all % shard.count ? 1 : 0) : all;
    this.explicitBudget = options.timeBudgetMs !== undefined;
    this.timeBudgetMs = options.timeBudgetMs ?? (this.explicitRuns ? undefined : profile.timeLimitMs);
  }

  start(): void {
    this.startedAt = this.now();
  }

  private elapsed(): number {
    return this.now() - (this.startedAt ?? this.now());
  }

  /** May another random run start, after `runsDone` random runs (started, in all lanes) and `steps` steps in all? */
  mayStartRun(runsDone: number, steps: number): boolean {
    if (this.failureAt !== undefined) return this.mayShrink();
    if (runsDone >= this.requestedRuns) return false;
    if (this.timeBudgetMs === undefined) return true;
    const elapsed = this.elapsed();
    if (elapsed < this.timeBudgetMs) return true;
    if (!this.explicitBudget && steps < this.profile.minSteps && elapsed < FLOOR_EXTENSION * this.timeBudgetMs) {
      this.extended = true;
      return true;
    }
    this.cut = true;
    return false;
  }

  /** A run failed: from now on only shrinking runs, within the shrink allowance. */
  failed(): void {
    this.failureAt ??= this.now();
  }

  private mayShrink(): boolean {
    return this.now() - this.failureAt! < this.profile.shrinkLimitMs;
  }

  stopReason(runsDone: number): StopReason {
    if (this.failureAt !== undefined) return 'failure';
    if (this.cut) return 'time budget';
    return runsDone >= this.requestedRuns ? 'all runs done' : 'not run';
  }
}
