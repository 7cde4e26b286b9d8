/**
 * A plug-in invariant: no identity executes more than K actions in any 60-second window.
 *
 * A rate limit is policy the profile does not demand, so INV-1…INV-6 cannot say it; this predicate
 * says it over ground truth — the effects the harness's sink recorded — never over what the gate
 * claims. Witnesses: the K+1 effects inside one window.
 *
 *   npx failclosed run --invariants ./examples/invariants/max-actions-per-minute.ts
 */
import type { Effect, PluginInvariant, PluginViolation } from 'failclosed/api';
import { defineInvariant } from 'failclosed/api';

const WINDOW_MS = 60_000;

export function maxActionsPerMinute(k: number): PluginInvariant {
  if (!Number.isInteger(k) || k < 1) throw new Error(`maxActionsPerMinute: K must be a positive integer, not ${k}`);
  return defineInvariant({
    id: `RATE-${k}-PER-MINUTE`,
    statement: `no identity executes more than ${k} actions in any 60 seconds`,
    check(history) {
      const byIdentity = new Map<string, { at: number; index: number; effect: Effect }[]>();
      history.events.forEach((event, index) => {
        if (event.kind !== 'effect') return;
        const list = byIdentity.get(event.identity) ?? [];
        list.push({ at: event.at, index, effect: event });
        byIdentity.set(event.identity, list);
      });
      const violations: PluginViolation[] = [];
      let examined = 0;
      for (const [identity, effects] of byIdentity) {
        examined += effects.length;
        // Events are recorded in non-decreasing time: a window is a slice [first, last].
        let first = 0;
        for (let last = 0; last < effects.length; last++) {
          while (effects[last]!.at - effects[first]!.at >= WINDOW_MS) first += 1;
          if (last - first + 1 > k) {
            const window = effects.slice(first, last + 1);
            violations.push({
              message: `${identity} executed ${window.length} actions within ${effects[last]!.at - effects[first]!.at} ms (at most ${k} per minute)`,
              eventIndexes: window.map((e) => e.index),
            });
            break; // one witness per identity is enough to act on
          }
        }
      }
      return { violations, examined };
    },
  });
}

/** The limit when the file is given as it is: K from FAILCLOSED_MAX_ACTIONS_PER_MINUTE, else 5000. */
export default [maxActionsPerMinute(Number(process.env.FAILCLOSED_MAX_ACTIONS_PER_MINUTE ?? 5000))];
