import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{model,conformance,harness,reference-impl}/**/*.test.ts'],
    // The model check and property suites are CPU-bound; give them room but keep a ceiling.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    allowOnly: false,
    reporters: ['default', './harness/vitest/closing-line-reporter.ts'],
  },
});
