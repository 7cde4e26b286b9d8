/**
 * Breaks INV-3: the Gate remembers a claimed nonce for 60 s after the claim, not for twice the
 * acceptance window past the later of the request's timestamp and the claim (CONTRACT.md section 3).
 * A replay still fresh after the clock moved a minute on executes again. Caught by
 * ReplayAfterClockJump (a request signed at the far edge of the window, replayed at +60 s and later).
 */
import { nowSec, systemClock } from '../../reference-impl/clock.ts';
import type { GateDependencies } from '../../reference-impl/gate/gate.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { ClaimStore } from '../../reference-impl/stores/claim-store.ts';
import type { Mutant } from './mutant.ts';

const MEMORY_SEC = 60;

/** Every claim the Gate makes expires a minute after it was made. */
function shortMemory(nonces: ClaimStore, deps: GateDependencies): ClaimStore {
  const clock = deps.clock ?? systemClock;
  return {
    claim: (key, _expiresAtMs) => nonces.claim(key, (nowSec(clock) + MEMORY_SEC) * 1000),
    close: () => nonces.close(),
  };
}

export const nonceMemorySixtySeconds: Mutant = {
  id: 'nonce-memory-60s',
  breaks: 'a claimed nonce is remembered for 60 s after the claim instead of 2 × window past its timestamp',
  expected: ['INV-3'],
  target: referenceTarget('mutant:nonce-memory-60s', { makeGate: (deps) => new Gate({ ...deps, nonces: shortMemory(deps.nonces, deps) }) }),
};
