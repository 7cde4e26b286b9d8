/** Commands that use a request, a nonce or an approval twice. */
import type fc from 'fast-check';
import type { RunContext } from '../run-context.ts';
import type { NoModel } from './command.ts';
import { Command } from './command.ts';

export class ReplayEarlier extends Command {
  readonly threat = 'replay';
  constructor(readonly pick: number) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await ctx.replay(this.pick, this);
  }
  toString() {
    return `ReplayEarlier(#${this.pick})`;
  }
}

/** n copies at once; with a scheduler, the Control Plane's answers come back in the order it picks. */
export class ConcurrentDuplicates extends Command {
  readonly threat = 'replay';
  constructor(
    readonly copies: number,
    readonly scheduler?: fc.Scheduler,
  ) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await ctx.concurrentDuplicates(this.copies, this, this.scheduler);
  }
  toString() {
    return `ConcurrentDuplicates(${this.copies})`;
  }
}

/** The same nonce under another identity is a different request: it must execute. */
export class SameNonceOtherIdentity extends Command {
  readonly threat = 'replay';
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    const nonce = ctx.nonce();
    await ctx.gateScenario({ label: 'alice, nonce N', tag: this, answers: {}, nonce });
    await ctx.gateScenario({ label: 'bob, the same nonce N', tag: this, answers: {}, nonce, identity: 'bob' });
  }
  toString() {
    return 'SameNonceOtherIdentity()';
  }
}

/** A request id reused under a new nonce, and the Control Plane's earlier envelope replayed to the Gate. */
export class ReplayedApproval extends Command {
  readonly threat = 'replay';
  protected override readonly ownInvariants = ['INV-3', 'INV-6'] as const;
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await ctx.gateScenario({ label: this.toString(), tag: this, answers: {}, prior: 'approvalConsumed' });
  }
  toString() {
    return 'ReplayedApproval()';
  }
}

/** Kill the system and start it again, then replay one earlier request: it must still be spent. */
export class CrashRestartThenReplay extends Command {
  readonly threat = 'crash-restart';
  constructor(readonly pick: number) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    // Without a crash, the replay would test nothing this command stands for.
    if (await ctx.crashAndRestart()) await ctx.replay(this.pick, this);
  }
  toString() {
    return `CrashRestartThenReplay(#${this.pick})`;
  }
}

export class ClockSkew extends Command {
  readonly threat = 'stale-request';
  constructor(readonly offsetSec: number) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await ctx.clockSkew(this.offsetSec, this);
  }
  toString() {
    return `ClockSkew(${this.offsetSec >= 0 ? '+' : ''}${this.offsetSec}s)`;
  }
}
