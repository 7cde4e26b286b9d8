/**
 * Probes of trust paths and bursts up to the contract's limit (issue 10, class 5); each reduces to a
 * scenario of `conformance/scenarios/probes.ts` or `bursts.ts`.
 */
import type { RunContext } from '../run-context.ts';
import type { BurstMember } from '../scenarios/bursts.ts';
import { burst } from '../scenarios/bursts.ts';
import type { ProbeKind, UntrustedForm } from '../scenarios/probes.ts';
import { TRUST_HEADER_NAMES, gateShapedProbes, trustHeadersAtGate } from '../scenarios/probes.ts';
import type { NoModel } from './command.ts';
import { Command } from './command.ts';

/** A request the Gate must deny, carrying headers a gate might trust instead of checking. */
export class TrustHeaders extends Command {
  readonly threat = 'forged-request';
  constructor(
    readonly form: UntrustedForm,
    readonly headers: readonly string[] = TRUST_HEADER_NAMES,
  ) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await trustHeadersAtGate(ctx, this.form, this.headers, this);
  }
  toString() {
    const shown = this.headers.length === TRUST_HEADER_NAMES.length ? 'every trust header' : this.headers.join(' ');
    return `TrustHeaders(${this.form} with ${shown})`;
  }
}

/** The Gate's own Execution Layer call, replayed straight to the Execution Layer with a bad envelope. */
export class GateShapedProbe extends Command {
  readonly threat = 'bypass';
  constructor(readonly kinds: readonly ProbeKind[]) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await gateShapedProbes(ctx, this.kinds, this);
  }
  toString() {
    return `GateShapedProbe(${this.kinds.join(' ')})`;
  }
}

/** Many different requests in flight at once. */
export class Burst extends Command {
  readonly threat = 'burst';
  constructor(readonly members: readonly BurstMember[]) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await burst(ctx, this.members, this);
  }
  toString() {
    const counts = new Map<string, number>();
    for (const m of this.members) counts.set(m, (counts.get(m) ?? 0) + 1);
    return `Burst(${this.members.length}: ${[...counts].map(([m, n]) => `${n} ${m}`).join(' ')})`;
  }
}
