// The docs pages embed the example files verbatim: a page must never show code that the tests do not run.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

describe('docs/extending embeds the tested examples', () => {
  for (const [page, example] of [
    ['docs/extending/commands.md', 'examples/commands/retry-after-outage.ts'],
    ['docs/extending/drivers.md', 'examples/drivers/library-gate.ts'],
  ] as const) {
    it(`${page} shows ${example} as it is`, () => {
      expect(read(page)).toContain('```ts\n' + read(example) + '```');
    });
  }
});
