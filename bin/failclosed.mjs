#!/usr/bin/env node
// The CLI is written in TypeScript; tsx compiles it on the fly so `npx failclosed` works after `npm ci`.
import { register } from 'tsx/esm/api';

register();
// A reader that stops early (`failclosed explore | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const { main } = await import('../harness/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
