/** Calls straight to the Execution Layer, bypassing the Gate (INV-6). */
import type { Answers } from '../../model/concrete-scenario.ts';
import type { RunContext } from '../run-context.ts';
import type { MalformedCall } from '../scenarios/malformed-calls.ts';
import { malformedCall } from '../scenarios/malformed-calls.ts';
import type { NoModel } from './command.ts';
import { Command } from './command.ts';

export type BypassKind = 'no-envelope' | 'forged' | 'expired' | 'expired-at-edge' | 'not-yet-valid' | 'replayed' | 'mismatched';

const ANSWERS: Record<BypassKind, Answers> = {
  'no-envelope': { presentedEnvelope: 'absent' },
  forged: { envelopeSignature: 'untrusted' },
  expired: { envelopeWindow: 'expired' },
  'expired-at-edge': { envelopeWindow: 'expired' },
  'not-yet-valid': { envelopeWindow: 'notYetValid' },
  replayed: {},
  mismatched: { callBinding: 'mismatched' },
};

export class DirectCall extends Command {
  readonly threat = 'bypass';
  constructor(readonly kind: BypassKind) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await ctx.directCall({
      label: this.toString(),
      tag: this,
      answers: ANSWERS[this.kind],
      prior: this.kind === 'replayed' ? 'approvalConsumed' : 'none',
      edge: this.kind === 'expired-at-edge',
    });
  }
  toString() {
    return `DirectCall(${this.kind})`;
  }
}

/** A body that is not a call, straight to the Execution Layer: REQUEST_MALFORMED, nothing runs (scenarios/malformed-calls.ts). */
export class MalformedDirectCall extends Command {
  readonly threat = 'bypass';
  constructor(readonly form: MalformedCall) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await malformedCall(ctx, this.form, this);
  }
  toString() {
    return `MalformedDirectCall(${this.form})`;
  }
}
