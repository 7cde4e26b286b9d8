import { defineConfig } from 'vitest/config';

/** The test run StrykerJS uses to judge mutants over HTTP (npm run mutation, stryker.http.config.mjs): the conformance suite only. */
export default defineConfig({
  test: {
    include: ['conformance/mutation/suite-http.mutation.ts'],
    testTimeout: 120_000,
    allowOnly: false,
  },
});
