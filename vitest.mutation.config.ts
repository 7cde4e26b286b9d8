import { defineConfig } from 'vitest/config';

/** The test run StrykerJS uses to judge mutants (npm run mutation): the conformance suite only. */
export default defineConfig({
  test: {
    include: ['conformance/mutation/suite.mutation.ts'],
    testTimeout: 60_000,
    allowOnly: false,
  },
});
