/**
 * A plug-in command: a client whose request was denied during a Control Plane outage retries it.
 *
 * The first request is denied (nothing may execute: INV-1, INV-4); the client then sends a new,
 * healthy request, which executes; then the denied request's exact bytes arrive again (a proxy
 * retrying on its own), which must still be denied — a gate that "remembers" the outage as a
 * reason to let the retry through, or forgets the claimed nonce, is caught here. Every step is a
 * model scenario: the model predicts each answer, the effects and the audit records.
 *
 *   npx failclosed run --commands ./examples/commands/retry-after-outage.ts
 */
import { defineCommand, fc } from 'failclosed/api';

export const retryAfterOutage = defineCommand({
  name: 'RetryAfterOutage',
  threat: 'control-plane-failure',
  parameters: fc.record({ outage: fc.constantFrom('unreachable', 'timeout', 'malformed'), amount: fc.integer({ min: 1, max: 10_000 }) }),
  async run(steps, { outage, amount }) {
    const parameters = { to: 'dave', amount };
    await steps.request({ controlPlane: outage }, { parameters, label: `denied during the outage (${outage})` });
    await steps.request({}, { parameters, label: 'the client retries with a new request' });
    await steps.replay(0);
  },
  // Once in the prelude, so that even the quick profile exercises it.
  prelude: { outage: 'unreachable', amount: 42 },
});

export default [retryAfterOutage];
