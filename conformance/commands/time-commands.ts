/** Commands about time: the window's exact edges, live, and memory after the clock moved (CONTRACT.md sections 3, 5, 9). */
import fc from 'fast-check';
import type { InvariantId } from '../../model/profile/denial-codes.ts';
import type { RunContext } from '../run-context.ts';
import type { ApprovalJump, NonceJump } from '../scenarios/memory-across-time.ts';
import { approvalAfterClockJump, executionLayerOnSystemClock, replayAfterClockJump } from '../scenarios/memory-across-time.ts';
import type { EnvelopeEdge, TimestampEdge } from '../scenarios/time-edges.ts';
import { ENVELOPE_EDGES, TIMESTAMP_EDGES, envelopeEdgeProbe, timestampEdgeProbe } from '../scenarios/time-edges.ts';
import type { NoModel } from './command.ts';
import { Command } from './command.ts';

/** Edges a correct gate accepts: refusing them is a false denial, which breaks no safety invariant. */
const ACCEPTED_EDGES: readonly string[] = ['stale-edge', 'future-edge', 'valid-at-both-edges'];

/** A request timestamped exactly `now ± window` (accepted) or one second beyond (refused), on the Gate's clock. */
export class TimestampAtEdge extends Command {
  readonly threat = 'stale-request';
  protected override readonly ownInvariants: readonly InvariantId[] | undefined;
  constructor(readonly edge: TimestampEdge) {
    super();
    this.ownInvariants = ACCEPTED_EDGES.includes(edge) ? [] : undefined;
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await timestampEdgeProbe(ctx, this.edge, this);
  }
  toString() {
    return `TimestampAtEdge(${this.edge})`;
  }
}

/** An envelope valid from the Gate's second to the next (accepted), issued the next second, or expiring this one (refused). */
export class EnvelopeAtEdge extends Command {
  readonly threat = 'expired-approval';
  protected override readonly ownInvariants: readonly InvariantId[] | undefined;
  constructor(readonly edge: EnvelopeEdge) {
    super();
    this.ownInvariants = ACCEPTED_EDGES.includes(edge) ? [] : undefined;
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await envelopeEdgeProbe(ctx, this.edge, this);
  }
  toString() {
    return `EnvelopeAtEdge(${this.edge})`;
  }
}

/** A claimed nonce, replayed after the clock moved forward [and a restart] [and back]. */
export class ReplayAfterClockJump extends Command {
  readonly threat: 'replay' | 'crash-restart';
  constructor(readonly jump: NonceJump) {
    super();
    this.threat = jump.restart ? 'crash-restart' : 'replay';
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await replayAfterClockJump(ctx, this.jump, this);
  }
  toString() {
    const j = this.jump;
    return `ReplayAfterClockJump(${j.signedAt}, +${j.forwardSec}s${j.restart ? ', restart' : ''}${j.back ? ', back' : ''})`;
  }
}

/** A spent approval, brought back after the clock moved forward [and a restart] [past its expiry and back]. */
export class ApprovalAfterClockJump extends Command {
  readonly threat: 'replay' | 'crash-restart';
  protected override readonly ownInvariants = ['INV-3', 'INV-6'] as const;
  constructor(readonly jump: ApprovalJump) {
    super();
    this.threat = jump.restart ? 'crash-restart' : 'replay';
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await approvalAfterClockJump(ctx, this.jump, this);
  }
  toString() {
    const j = this.jump;
    return `ApprovalAfterClockJump(+${j.forwardSec}s${j.restart ? ', restart' : ''}${j.back ? ', back' : ''}${j.direct ? ', direct' : ''})`;
  }
}

/** The Execution Layer reads the system's clock, offset included. */
export class ExecutionLayerOnSystemClock extends Command {
  readonly threat = 'expired-approval';
  protected override readonly ownInvariants = [] as const;
  constructor(readonly offsetSec: number) {
    super();
  }
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await executionLayerOnSystemClock(ctx, this.offsetSec, this);
  }
  toString() {
    return `ExecutionLayerOnSystemClock(${this.offsetSec >= 0 ? '+' : ''}${this.offsetSec}s)`;
  }
}

/** How far the clock moves: around every edge of memory — a minute, a window ∓ ε, two windows ∓ ε. */
export function clockJumpArbitrary(acceptanceWindowSec: number): fc.Arbitrary<number> {
  const w = acceptanceWindowSec;
  const epsilon = fc.integer({ min: 3, max: 15 });
  return fc.oneof(fc.constant(60), epsilon.map((e) => w - e), epsilon.map((e) => w + e), epsilon.map((e) => 2 * w - e), epsilon.map((e) => 2 * w + e));
}

/** Every time command, with the arbitrary that generates it. */
export function timeCommandArbitraries(acceptanceWindowSec: number): fc.Arbitrary<Command>[] {
  const jump = clockJumpArbitrary(acceptanceWindowSec);
  return [
    fc.constantFrom(...TIMESTAMP_EDGES).map((edge) => new TimestampAtEdge(edge)),
    fc.constantFrom(...ENVELOPE_EDGES).map((edge) => new EnvelopeAtEdge(edge)),
    fc
      .record({ signedAt: fc.constantFrom('window-ahead' as const, 'now' as const), forwardSec: jump, restart: fc.boolean(), back: fc.boolean() })
      .map((j) => new ReplayAfterClockJump(j)),
    fc
      .record({ forwardSec: jump.filter((s) => s < 2 * acceptanceWindowSec), restart: fc.boolean(), back: fc.boolean(), direct: fc.boolean() })
      .map((j) => new ApprovalAfterClockJump(j)),
    fc.constantFrom(-120, 120).map((s) => new ExecutionLayerOnSystemClock(s)),
  ];
}

/** The fixed time scenarios of the prelude: every edge once, memory at every edge, restarts and a clock moving back. */
export function timePreludeCommands(acceptanceWindowSec: number): Command[] {
  const w = acceptanceWindowSec;
  return [
    // Refusals first: when a gate gets both sides wrong, the safety invariant is the one to name.
    new TimestampAtEdge('past-stale-edge'),
    new TimestampAtEdge('past-future-edge'),
    new EnvelopeAtEdge('issued-next-second'),
    new EnvelopeAtEdge('expires-now'),
    new TimestampAtEdge('stale-edge'),
    new TimestampAtEdge('future-edge'),
    new EnvelopeAtEdge('valid-at-both-edges'),
    ...[60, w - 5, w + 5, 2 * w - 5].map((forwardSec) => new ReplayAfterClockJump({ signedAt: 'window-ahead', forwardSec, restart: false, back: false })),
    new ReplayAfterClockJump({ signedAt: 'now', forwardSec: w + 5, restart: false, back: true }),
    new ReplayAfterClockJump({ signedAt: 'window-ahead', forwardSec: 60, restart: true, back: false }),
    new ReplayAfterClockJump({ signedAt: 'window-ahead', forwardSec: 2 * w + 5, restart: true, back: true }),
    new ApprovalAfterClockJump({ forwardSec: w + 5, restart: true, back: true, direct: true }),
    new ExecutionLayerOnSystemClock(120),
  ];
}
