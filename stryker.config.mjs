// StrykerJS: what the conformance suite detects in the reference's decision code (npm run mutation).
// The judge of every mutant is conformance/mutation/suite.mutation.ts (vitest.mutation.config.ts):
// the suite against the in-process reference, never the reference's own unit tests. The second
// configuration, over HTTP, is stryker.http.config.mjs. What is not mutated, and why, is in
// conformance/mutation/RESULTS.md ("Scope").

/** What both configurations share: the runner, per-test coverage, the machine's 2 cores, reports. */
export function strykerOptions({ name, vitestConfig, mutate, timeoutMS }) {
  /** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
  const options = {
    testRunner: 'vitest',
    vitest: { configFile: vitestConfig, related: false },
    plugins: ['@stryker-mutator/vitest-runner'],
    mutate: [...mutate, '!**/*.test.ts'],
    coverageAnalysis: 'perTest',
    concurrency: 2,
    timeoutMS,
    timeoutFactor: 2,
    incremental: true,
    incrementalFile: `reports/mutation/${name}/stryker-incremental.json`,
    reporters: ['clear-text', 'progress', 'html', 'json'],
    htmlReporter: { fileName: `reports/mutation/${name}/mutation.html` },
    // the smoke test (conformance/mutation/stryker-smoke.test.ts) reads its own copy
    jsonReporter: { fileName: process.env.STRYKER_JSON_REPORT ?? `reports/mutation/${name}/mutation.json` },
    tempDirName: `.stryker-tmp`,
    cleanTempDir: 'always',
    ignorePatterns: ['reports', 'test-output', 'failclosed-report', 'failclosed-data', 'blind-gates', 'types', '/.stryker-tmp-smoke'],
  };
  return options;
}

export default strykerOptions({
  name: 'in-process',
  vitestConfig: 'vitest.mutation.config.ts',
  timeoutMS: 20_000,
  // In-process the reference keeps its state in memory and reports effects to the harness's own
  // sink: the durable file stores, the effect sinks and the HTTP servers run only over HTTP
  // (stryker.http.config.mjs).
  mutate: [
    'reference-impl/gate/gate.ts',
    'reference-impl/gate/links.ts',
    'reference-impl/execution-layer/execution-layer.ts',
    'reference-impl/stores/claim-table.ts',
    'reference-impl/stores/memory-claim-store.ts',
    'reference-impl/audit/audit-log.ts',
    'reference-impl/audit/memory-audit-log.ts',
  ],
});
