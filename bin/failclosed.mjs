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
guard.settled(await main(process.argv.slice(2)));
