/**
 * Commands for contract obligations no other command exercised (issue 10, class 6); each reduces
 * to a scenario of `conformance/scenarios/obligations.ts`.
 */
import type { RunContext } from '../run-context.ts';
import type { AbortForm, ForeignKeyForm, TwiceForm } from '../scenarios/obligations.ts';
import { abortedUpload, approvalReplayAfterRestart, healthDuringOutage, keyOfAnotherIdentity, sameBytesTwice } from '../scenarios/obligations.ts';
import type { NoModel } from './command.ts';
import { Command } from './command.ts';

/** A request signed with a registered, active key of another identity: KEY_UNKNOWN. */
export class KeyOfAnotherIdentity extends Command {
  readonly threat = 'forged-request';
  constructor(readonly form: ForeignKeyForm) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await keyOfAnotherIdentity(ctx, this.form, this);
  }
  toString() {
    return `KeyOfAnotherIdentity(${this.form})`;
  }
}

/** An approval that executed before a crash-restart, used again after it (through the Gate, or straight to the Execution Layer). */
export class ApprovalReplayAfterRestart extends Command {
  readonly threat = 'crash-restart';
  protected override readonly ownInvariants = ['INV-3', 'INV-6'] as const;
  constructor(readonly via: 'gate' | 'direct') {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await approvalReplayAfterRestart(ctx, this.via, this);
  }
  toString() {
    return `ApprovalReplayAfterRestart(${this.via})`;
  }
}

/** An upload abandoned mid-body: denied and audited by the bytes that arrived. */
export class AbortedUpload extends Command {
  readonly threat = 'malformed-input';
  protected override readonly ownInvariants = ['INV-5'] as const;
  constructor(readonly form: AbortForm) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await abortedUpload(ctx, this.form, this);
  }
  toString() {
    return `AbortedUpload(${Math.round(this.form.fraction * 100)}% of ${this.form.size})`;
  }
}

/** The same bytes twice: two requests, two trace ids, two final records. */
export class SameBytesTwice extends Command {
  readonly threat = 'replay';
  protected override readonly ownInvariants = ['INV-5'] as const;
  constructor(readonly form: TwiceForm) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await sameBytesTwice(ctx, this.form, this);
  }
  toString() {
    return `SameBytesTwice(${this.form})`;
  }
}

/** Health while the Control Plane is unreachable and the Execution Layer partitioned: 200 (it breaks no invariant, it fails the suite). */
export class HealthDuringOutage extends Command {
  readonly threat = 'partition-during-approval';
  protected override readonly ownInvariants = [] as const;
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await healthDuringOutage(ctx, this);
  }
  toString() {
    return 'HealthDuringOutage()';
  }
}
