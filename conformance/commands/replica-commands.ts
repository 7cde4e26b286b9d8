/**
 * Replicas under interleaving (issue 10, class 7); each reduces to a scenario of
 * `conformance/scenarios/replicas.ts`. With one replica they run on it.
 */
import type { RunContext } from '../run-context.ts';
import { crashAwaitingApproval, crashMidClaim, replayThroughOtherReplica, spreadDuplicates } from '../scenarios/replicas.ts';
import type { NoModel } from './command.ts';
import { Command } from './command.ts';

/** Copies of one request spread over the replicas, all at once or a few milliseconds apart. */
export class SpreadDuplicates extends Command {
  readonly threat = 'replay';
  constructor(
    readonly copies: number,
    readonly staggerMs: number,
  ) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await spreadDuplicates(ctx, this.copies, this.staggerMs, this);
  }
  toString() {
    return `SpreadDuplicates(${this.copies} copies ${this.staggerMs} ms apart)`;
  }
}

/** A request replayed through another replica after the clock moved on. */
export class ReplayThroughOtherReplica extends Command {
  readonly threat = 'replay';
  constructor(readonly advanceSec: number) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await replayThroughOtherReplica(ctx, this.advanceSec, this);
  }
  toString() {
    return `ReplayThroughOtherReplica(+${this.advanceSec}s)`;
  }
}

/** A replica crashed while a request is in flight through it, then the request through another. */
export class CrashMidClaim extends Command {
  readonly threat = 'crash-restart';
  constructor(readonly delayMs: number) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await crashMidClaim(ctx, this.delayMs, this);
  }
  toString() {
    return `CrashMidClaim(${this.delayMs} ms)`;
  }
}

/** A replica crashed while the Control Plane held its answer, the allow sent after the restart, then the request through another. */
export class CrashAwaitingApproval extends Command {
  readonly threat = 'crash-restart';
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await crashAwaitingApproval(ctx, this);
  }
  toString() {
    return 'CrashAwaitingApproval';
  }
}
