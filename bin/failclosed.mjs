#!/usr/bin/env node
// The CLI is written in TypeScript; tsx compiles it on the fly so `npx failclosed` works after `npm ci`.
import { register } from 'tsx/esm/api';
import { guardExit } from './exit-guard.mjs';

register();
const guard = guardExit();
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') guard.readerGone();
    throw error;
  });
}
const { main } = await import('../harness/cli/main.ts');
const status = await main(process.argv.slice(2));
guard.settled(status);
// Every command awaits all it does (reports written, systems stopped, servers closed on a signal),
// so the process ends here. Left to drain, it sometimes spun at 100% CPU in Node's own teardown
// after the verdict, never exiting (seen with `run --command`, a child exited but not yet reaped).
process.exit(status);
