/**
 * Conformance levels: what a gate can be certified for, from what it lets the harness do.
 *
 *   core  everything reachable with no control channel: ingress, authentication, freshness,
 *         replays (concurrent duplicates included), every Control Plane answer, envelopes,
 *         binding, effects, the audit export
 *   full  core, plus faults inside the system, its clock, crash-restart and direct calls to the
 *         Execution Layer
 *
 * A level is met when none of its scenarios went untested and the run passed its floors; the
 * model coverage floor counts only the transitions the level's scenarios can reach.
 */
import type { Capability } from '../driver.ts';
import { DRIVER_FAULTS } from '../driver.ts';
import { modelScenarios } from './prelude.ts';

export const LEVELS = ['core', 'full'] as const;
export type Level = (typeof LEVELS)[number];
export const DEFAULT_LEVEL: Level = 'full';

/** Capabilities beyond the contract's mandatory endpoints that each level needs. */
export const LEVEL_NEEDS: Readonly<Record<Level, readonly Capability[]>> = {
  core: [],
  full: [...DRIVER_FAULTS, 'clock-offset', 'crash-restart', 'direct-execution'],
};

export const LEVEL_SUMMARY: Readonly<Record<Level, string>> = {
  core: 'black-box: ingress, authentication, freshness, replays, Control Plane answers, envelopes, binding, effects, audit export',
  full: 'core plus faults inside the system, clock, crash-restart and direct calls to the Execution Layer',
};

export function isLevel(name: string): name is Level {
  return (LEVELS as readonly string[]).includes(name);
}

/** Whether a scenario needing `capability` belongs to the level. Every level needs a gate clock the
 *  harness can read ('clock-agreement', CONTRACT.md section 3): freshness is core. */
export function levelNeeds(level: Level, capability: string): boolean {
  return capability === 'clock-agreement' || (LEVEL_NEEDS[level] as readonly string[]).includes(capability);
}

/** The capabilities the level needs that the system does not offer. */
export function levelGaps(level: Level, capabilities: ReadonlySet<Capability>): Capability[] {
  return LEVEL_NEEDS[level].filter((c) => !capabilities.has(c));
}

const reachable = new Map<Level, ReadonlySet<string>>();

/** The model transitions ("chart:state:question.answer") that the level's prelude scenarios take. */
export function reachableTransitions(level: Level): ReadonlySet<string> {
  let set = reachable.get(level);
  if (!set) {
    const found = new Set<string>();
    for (const scenario of modelScenarios()) {
      if (scenario.needs.every((c) => levelNeeds(level, c))) for (const t of scenario.transitions) found.add(t);
    }
    set = found;
    reachable.set(level, set);
  }
  return set;
}
