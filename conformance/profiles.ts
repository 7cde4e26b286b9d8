/**
 * Run profiles: how much random exploration follows the fixed prelude (every scenario of the
 * model once), and the floors below which a run proves nothing and is inconclusive.
 */
export interface Profile {
  name: 'quick' | 'standard' | 'thorough';
  /** fast-check runs of random command sequences */
  runs: number;
  maxCommands: number;
  /** wall-clock budget for the random phase: no run starts after it (one in flight finishes) */
  timeLimitMs: number;
  /** wall-clock allowance for shrinking a failure, from the moment it was found */
  shrinkLimitMs: number;
  /** fewer system interactions than this: inconclusive */
  minSteps: number;
  /** percentage of the charts' answer transitions that must be exercised */
  coverageFloor: number;
}

export const PROFILES: Record<Profile['name'], Profile> = {
  quick: { name: 'quick', runs: 40, maxCommands: 12, timeLimitMs: 12_000, shrinkLimitMs: 15_000, minSteps: 200, coverageFloor: 100 },
  standard: { name: 'standard', runs: 200, maxCommands: 25, timeLimitMs: 60_000, shrinkLimitMs: 60_000, minSteps: 1_000, coverageFloor: 100 },
  thorough: { name: 'thorough', runs: 1_000, maxCommands: 40, timeLimitMs: 300_000, shrinkLimitMs: 120_000, minSteps: 5_000, coverageFloor: 100 },
};

export function isProfileName(name: string): name is Profile['name'] {
  return Object.hasOwn(PROFILES, name);
}
