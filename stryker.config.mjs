// StrykerJS: what the conformance suite detects in the reference's decision code (npm run mutation).
// The judge of every mutant is conformance/mutation/suite.mutation.ts (vitest.mutation.config.ts):
// the suite against the in-process reference, never the reference's own unit tests.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    'reference-impl/gate/**/*.ts',
    'reference-impl/execution-layer/**/*.ts',
    'reference-impl/stores/**/*.ts',
    'reference-impl/audit/**/*.ts',
    'reference-impl/control-plane/**/*.ts',
    '!**/*.test.ts',
    // fault injection the harness drives (the nemeses' side), not decisions of the reference
    '!**/faulty-*.ts',
    '!**/test-support.ts',
    '!**/audit-test-entries.ts',
    '!**/crash-fixture.ts',
    // not reachable in-process: the PostgreSQL stores are judged by the HTTP configuration
    '!reference-impl/stores/postgres/**',
  ],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 20_000,
  timeoutFactor: 2,
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  // the smoke test (conformance/mutation/stryker-smoke.test.ts) reads its own copy
  jsonReporter: { fileName: process.env.STRYKER_JSON_REPORT ?? 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['reports', 'test-output', 'failclosed-report', 'failclosed-data', 'blind-gates', 'types'],
};
