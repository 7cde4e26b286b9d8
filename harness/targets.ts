/**
 * Which system a command runs against. A target spec is plain data, so a counterexample file can
 * record it and `failclosed replay` can rebuild exactly the same target.
 */
import type { InProcessTarget } from '../conformance/in-process-target.ts';
import type { DriverFactory } from '../conformance/runner.ts';
import { referenceTarget } from '../reference-impl/in-process-target.ts';
import { InProcessDriver } from './drivers/in-process.ts';

export type TargetSpec = { kind: 'in-process'; variant?: string };

/** Planted-bug variants, looked up lazily so the CLI starts fast. */
async function variantTarget(id: string): Promise<InProcessTarget> {
  const { MUTANTS } = await import('../conformance/mutants/index.ts');
  const mutant = MUTANTS.find((m) => m.id === id);
  if (!mutant) throw new TargetError(`no planted-bug variant "${id}" (known: ${MUTANTS.map((m) => m.id).join(', ')})`);
  return mutant.target;
}

export class TargetError extends Error {
  override name = 'TargetError';
}

export async function resolveTarget(spec: TargetSpec): Promise<DriverFactory> {
  const target = spec.variant ? await variantTarget(spec.variant) : referenceTarget();
  return (harness) => new InProcessDriver(target, harness);
}

export function describeTarget(spec: TargetSpec): string {
  return spec.variant ? `planted-bug variant "${spec.variant}" (in-process)` : 'the embedded reference implementation (in-process)';
}
