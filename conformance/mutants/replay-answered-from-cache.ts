/**
 * Breaks INV-3 (and INV-5): the Gate keeps an idempotency cache of executed answers keyed by the
 * request's bytes, and answers identical bytes from it — "executed", with no new effect and no audit
 * record. CONTRACT.md section 3: a gate MUST NOT answer a replay from a cache of earlier results.
 * (Blind gate A's `replay-cache` and gate B's `result-cache`: caught before issue 10, kept so.)
 */
import { sha256Digest } from '../../model/profile/digest.ts';
import type { GateAnswer, RequestContext } from '../../reference-impl/gate/gate.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Mutant } from './mutant.ts';

class ResultCachingGate extends Gate {
  private readonly answered = new Map<string, GateAnswer>();

  override async handle(body: Uint8Array, context: RequestContext = {}): Promise<GateAnswer> {
    const key = sha256Digest(body);
    const cached = this.answered.get(key);
    if (cached) return cached;
    const answer = await super.handle(body, context);
    if (answer.status === 'executed') this.answered.set(key, answer);
    return answer;
  }
}

export const replayAnsweredFromCache: Mutant = {
  id: 'replay-answered-from-cache',
  breaks: 'a replay of executed bytes is answered from a cache of earlier results',
  expected: ['INV-3', 'INV-5'],
  target: referenceTarget('mutant:replay-answered-from-cache', { makeGate: (deps) => new ResultCachingGate(deps) }),
};
