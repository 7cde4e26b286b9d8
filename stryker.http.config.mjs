// StrykerJS over HTTP (npm run mutation, second configuration): the same conformance suite, through
// the harness's HTTP driver and services, judges the reference as `failclosed serve` runs it —
// HTTP servers, durable file stores with fsync, crash and restart through the conformance channel
// (conformance/mutation/suite-http.mutation.ts). What it kills stands for gates reached over HTTP.
import { strykerOptions } from './stryker.config.mjs';

export default strykerOptions({
  name: 'http',
  vitestConfig: 'vitest.mutation-http.config.ts',
  timeoutMS: 60_000,
  mutate: [
    'reference-impl/gate/gate.ts',
    'reference-impl/gate/links.ts',
    'reference-impl/execution-layer/execution-layer.ts',
    'reference-impl/execution-layer/effect-sink.ts',
    'reference-impl/stores/claim-table.ts',
    'reference-impl/stores/file-journal-claim-store.ts',
    'reference-impl/stores/append-only-file.ts',
    'reference-impl/stores/lock-file.ts',
    'reference-impl/stores/serial-queue.ts',
    'reference-impl/audit/audit-log.ts',
    'reference-impl/audit/file-audit-log.ts',
    'reference-impl/audit/audit-spool.ts',
    'reference-impl/http/gate-server.ts',
    'reference-impl/http/execution-layer-server.ts',
    'reference-impl/http/http-links.ts',
    'reference-impl/http/http-util.ts',
  ],
});
