/**
 * Breaks INV-2: the binding digest's canonical JSON writes numbers without exponents ("to avoid
 * scientific notation": `toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 })`),
 * so 1e21 becomes `1000000000000000000000`, -0 becomes `-0` and 5e-324 becomes `0` — RFC 8785
 * writes `1e+21`, `0` and `5e-324`. Every number the harness used to send was a small integer.
 */
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import { bindingDigest, canonicalizeWith, sha256Of } from './binding-digest.ts';
import type { Mutant } from './mutant.ts';

const fixedNotation = (n: number) => n.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });

export const digestNumbersFixedNotation: Mutant = {
  id: 'digest-numbers-fixed-notation',
  breaks: 'the canonical JSON of the binding digest writes numbers without exponents (1e21, -0 and 5e-324 change)',
  expected: ['INV-2'],
  target: referenceTarget('mutant:digest-numbers-fixed-notation', bindingDigest((parameters) => sha256Of(canonicalizeWith(parameters, { formatNumber: fixedNotation })))),
};
