// failclosed/vitest with a plug-in driver and a plug-in command, as a user of a library gate writes
// it: every invariant's test must pass through the example adapter.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { failclosedSuites } from './conformance.ts';
import { retryAfterOutage } from '../../examples/commands/retry-after-outage.ts';

failclosedSuites({
  target: { kind: 'driver', module: fileURLToPath(new URL('../../examples/drivers/library-gate.ts', import.meta.url)) },
  commands: [retryAfterOutage],
  runs: 2,
  seed: 21,
  reportDir: join(mkdtempSync(join(tmpdir(), 'failclosed-vitest-driver-')), 'report'),
});
