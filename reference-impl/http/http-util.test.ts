import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pathnameOf } from './http-util.ts';

/** The pathname, or the error's name when the target is no URL (the servers answer 500 then). */
function routed(parse: () => string): string {
  try {
    return parse();
  } catch (error) {
    return `throws ${(error as Error).name}`;
  }
}

describe('pathnameOf', () => {
  it('routes every request target as the URL parser does', () => {
    const base = 'http://gate';
    for (const target of ['/v1/requests', '/v1/requests/', '/', '//v1/requests', '/v1//requests', '/v1/./requests', '/v1/../requests', '/v1/requests?x=1', '/v1/requests#x', '/v1/%72equests', '/V1/Requests', 'http://evil/v1/requests', '', '\\v1\\requests', '/v1/requests ', undefined]) {
      expect(routed(() => pathnameOf(target, base)), String(target)).toBe(routed(() => new URL(target ?? '/', base).pathname));
    }
    const pathCharacters = fc.constantFrom(...'/aZ09_-.%?#\\ :@'.split(''));
    fc.assert(
      fc.property(fc.array(pathCharacters, { maxLength: 24 }).map((chars) => chars.join('')), (target) => {
        expect(routed(() => pathnameOf(target, base))).toBe(routed(() => new URL(target, base).pathname));
      }),
      { numRuns: 2000 },
    );
  });
});
