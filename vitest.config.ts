import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{model,conformance,harness,reference-impl,examples}/**/*.test.ts'],
    // The model check and property suites are CPU-bound; give them room but keep a ceiling.
    testTimeout: 120_000,
    // Most of the slow files wait on real deadlines and child processes rather than compute, so
    // two workers on a 2-core machine cut the wall time by a third (551 s → 358 s measured);
    // the default (cores − 1) would run them one after another.
    maxWorkers: 2,
    hookTimeout: 60_000,
    allowOnly: false,
    reporters: ['default', './harness/vitest/closing-line-reporter.ts'],
  },
});
