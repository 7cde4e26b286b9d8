/**
 * Time, live (CONTRACT.md sections 3, 5, 9): the window's exact edges and memory after the clock
 * moved. The reference passes every scenario, and judged fairly when a request straddles a second;
 * each planted time bug is caught by the scenario aimed at it; a gate whose clock the harness
 * cannot place is not tested, never failed; a request the clock has moved past its memory horizon
 * is never replayed.
 */
import { describe, expect, it } from 'vitest';
import { concreteRequest } from '../../model/concrete-scenario.ts';
import { checkInvariants } from '../../model/invariants/index.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { predictRequest } from '../../model/predict.ts';
import { timestampAnswer } from '../../model/time.ts';
import { InProcessDriver } from '../../harness/drivers/in-process.ts';
import { Denial, Gate } from '../../reference-impl/gate/gate.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import type { ReferenceTarget } from '../../reference-impl/in-process-target.ts';
import type { Command } from '../commands/command.ts';
import { ApprovalAfterClockJump, EnvelopeAtEdge, ReplayAfterClockJump, TimestampAtEdge, timePreludeCommands } from '../commands/time-commands.ts';
import type { Capability, Driver } from '../driver.ts';
import { clockRounded } from '../mutants/clock-rounded.ts';
import { nonceJournalTailLost } from '../mutants/nonce-journal-tail-lost.ts';
import { nonceMemorySixtySeconds } from '../mutants/nonce-memory-sixty-seconds.ts';
import { windowEdgesExclusive } from '../mutants/window-edges-exclusive.ts';
import { windowSlack } from '../mutants/window-slack.ts';
import { levelNeeds } from '../run-control/levels.ts';
import { ACTION, ConformanceFailure, RunContext } from '../run-context.ts';
import { ACCEPTANCE_WINDOW_SEC, createHarness } from '../runner.ts';
import { stillRemembered } from './memory-horizon.ts';
import { CLOCK_AGREEMENT, judgeTimed } from './timed.ts';

const W = ACCEPTANCE_WINDOW_SEC;
const tag = { threat: 'stale-request', invariants: ['INV-3', 'INV-4'] } as const;

function contextFor(target: ReferenceTarget = referenceTarget()) {
  const harness = createHarness();
  const driver = new InProcessDriver(target, harness);
  const ctx = new RunContext(driver, harness.controlPlane, harness.recorder, W, 'time');
  const verdicts = async () => {
    await driver.settle();
    return checkInvariants(harness.recorder.build(await driver.auditExport(), true));
  };
  return { ctx, driver, harness, verdicts };
}

async function runAll(ctx: RunContext, commands: Command[]): Promise<void> {
  for (const command of commands) {
    ctx.beginSegment(command.toString());
    await command.run({}, ctx);
  }
}

describe('time scenarios against the reference', () => {
  it('pass, decide every edge exactly, and leave a history whose invariants hold', async () => {
    const { ctx, verdicts } = contextFor();
    await runAll(ctx, timePreludeCommands(W));
    expect([...ctx.notTested.keys()]).toEqual([]);
    expect(ctx.contractFindings).toEqual([]);
    const trail = ctx.trail.join('\n');
    // Memory alone decides a replay still fresh almost two windows on…
    expect(trail).toMatch(new RegExp(`replay of \\S+ at \\+${2 * W - 5}s: expected denied with REPLAY_DETECTED, 0 effect\\(s\\); observed denied with REPLAY_DETECTED`));
    // …a replay whose timestamp left the window fails two checks: either code.
    expect(trail).toMatch(new RegExp(`replay of \\S+ at \\+${W + 5}s: expected denied with (TIMESTAMP_STALE or REPLAY_DETECTED|REPLAY_DETECTED or TIMESTAMP_STALE)`));
    expect(trail).toMatch(/with the clock back at \+0s: expected denied with REPLAY_DETECTED/);
    expect(trail).toMatch(/a new request brings back approval \S+: expected denied with ENVELOPE_REPLAYED/);
    expect(trail).toMatch(/past its expiry: a new request brings back approval \S+: expected denied with ENVELOPE_EXPIRED/);
    expect(trail).toMatch(/straight to the Execution Layer: expected denied with ENVELOPE_REPLAYED/);
    expect(trail).toMatch(new RegExp(`timestamp at the Gate's now -${W}s \\(stale-edge\\): expected executed`));
    expect(trail).toMatch(new RegExp(`timestamp at the Gate's now \\+${W + 1}s \\(past-future-edge\\): expected denied with TIMESTAMP_FUTURE`));
    expect(trail).toMatch(/envelope valid-at-both-edges of the Gate's second: expected executed/);
    expect(trail).toMatch(/envelope issued-next-second of the Gate's second: expected denied with ENVELOPE_NOT_YET_VALID/);
    expect(trail).toMatch(/an envelope current only on the harness's clock, straight to the Execution Layer: expected denied with ENVELOPE_EXPIRED/);
    for (const verdict of await verdicts()) expect(verdict.violations, verdict.invariant).toEqual([]);
  });
});

describe('each planted time bug is caught by the scenario aimed at it', () => {
  const cases: [string, ReferenceTarget, Command, RegExp][] = [
    ['a nonce memory of 60 s', nonceMemorySixtySeconds.target, new ReplayAfterClockJump({ signedAt: 'window-ahead', forwardSec: 60, restart: false, back: false }), /at \+60s: expected denied with REPLAY_DETECTED.*observed executed/],
    ['a clock rounded instead of floored', clockRounded.target, new TimestampAtEdge('past-future-edge'), /expected denied with TIMESTAMP_FUTURE.*observed executed/],
    ['a clock rounded (envelope issued the next second)', clockRounded.target, new EnvelopeAtEdge('issued-next-second'), /expected denied with ENVELOPE_NOT_YET_VALID.*observed executed/],
    ['a clock rounded (stale edge refused)', clockRounded.target, new TimestampAtEdge('stale-edge'), /expected executed.*observed denied with TIMESTAMP_STALE/],
    ['a window with slack', windowSlack.target, new TimestampAtEdge('past-stale-edge'), /expected denied with TIMESTAMP_STALE.*observed executed/],
    ['exclusive window edges', windowEdgesExclusive.target, new TimestampAtEdge('future-edge'), /expected executed.*observed denied with TIMESTAMP_FUTURE/],
    ['a nonce journal that loses its tail in a crash', nonceJournalTailLost.target, new ReplayAfterClockJump({ signedAt: 'window-ahead', forwardSec: 60, restart: true, back: false }), /expected denied with REPLAY_DETECTED.*observed executed/],
  ];
  it.each(cases)('%s', async (_name, target, command, message) => {
    const { ctx } = contextFor(target);
    const failure = await command.run({}, ctx).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ConformanceFailure);
    expect((failure as ConformanceFailure).message).toMatch(message);
  });

  it('an approval store that forgets after the clock moved past the envelope expiry is caught when the clock comes back', async () => {
    // The reference's approval store, with every claim expiring at the envelope's expiry.
    const target = referenceTarget('forgets approvals at expiry', {
      approvals: (env) => ({ claim: (key, _expiresAtMs) => env.approvals.claim(key, Date.now()), close: () => env.approvals.close() }),
    });
    const { ctx } = contextFor(target);
    const failure = await new ApprovalAfterClockJump({ forwardSec: 60, restart: false, back: true, direct: false }).run({}, ctx).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((failure as ConformanceFailure).message).toMatch(/expected denied with ENVELOPE_REPLAYED.*observed executed/);
  });
});

describe('judged fairly, never guessed', () => {
  it('takes REPLAY_DETECTED for a replay whose timestamp has left the window from a gate that looks at its claims first', async () => {
    /** Checks its claims before freshness: an aged replay is answered REPLAY_DETECTED, which is just as right. */
    class ClaimsFirstGate extends Gate {
      private readonly seen = new Set<string>();
      protected override authenticate(request: ClientRequest): void {
        if (this.seen.has(this.nonceKeyOf(request))) throw new Denial('REPLAY_DETECTED', 'seen before');
        super.authenticate(request);
      }
      protected override async claimNonce(request: ClientRequest): Promise<void> {
        await super.claimNonce(request);
        this.seen.add(this.nonceKeyOf(request));
      }
    }
    const { ctx } = contextFor(referenceTarget('claims first', { makeGate: (deps) => new ClaimsFirstGate(deps) }));
    await new ReplayAfterClockJump({ signedAt: 'now', forwardSec: W + 5, restart: false, back: false }).run({}, ctx);
    expect(ctx.trail.join('\n')).toMatch(new RegExp(`at \\+${W + 5}s: expected denied with .*; observed denied with REPLAY_DETECTED`));
    expect(ctx.contractFindings).toEqual([]);
  });

  it('accepts either answer when the round trip straddles a second, and nothing unsafe', async () => {
    const s = 2_000_000_000;
    for (const [status, code, effects, ok] of [
      ['executed', undefined, 1, true],
      ['denied', 'TIMESTAMP_STALE', 0, true],
      ['denied', 'TIMESTAMP_STALE', 1, false],
    ] as const) {
      const { ctx } = contextFor();
      const request = concreteRequest({}, { request_id: 'req-edge', action: ACTION, parameters: {}, nonce: ctx.nonce() }, s - W, W) as ClientRequest;
      const obs = { requestId: request.request_id, sendMs: s * 1000 + 995, answerMs: s * 1000 + 1_004, offsetMs: 0, observed: { status, ...(code ? { code } : {}) }, effects };
      const modelRequest = { requestId: request.request_id, identity: 'alice', action: ACTION, nonce: request.nonce, approvalId: 'a-1' };
      const judged = judgeTimed(ctx, { label: 'edge', tag }, obs, (second) => predictRequest({ timestamp: timestampAnswer(request.timestamp, second, W) }, ctx.memory, modelRequest));
      if (ok) await expect(judged).resolves.toBe('either');
      else await expect(judged).rejects.toThrow(/expected executed, 1 effect\(s\) \(clock at 2000000000\), or denied with TIMESTAMP_STALE, 0 effect\(s\) \(clock at 2000000001\)/);
    }
  });

  it("does not judge an edge when the gate's audit records put its clock elsewhere: not tested, for every level", async () => {
    const { ctx: real, harness } = contextFor();
    const sendMs = Date.now();
    const stamps: number[] = [];
    const fake: Driver = {
      target: 'a gate on another clock',
      capabilities: new Set<Capability>(['audit-export']),
      sharesHarnessClock: false,
      peekAuditExport: async () => [stamps.map((t) => ({ request_id: 'req-far', trace_id: 'trace-far', timestamp_ms: t }))],
    } as unknown as Driver;
    const ctx = new RunContext(fake, harness.controlPlane, harness.recorder, W, 'far');
    stamps.push(sendMs + 4_000);
    const obs = { requestId: 'req-far', sendMs, answerMs: sendMs + 5, offsetMs: 0, observed: { status: 'denied' as const, code: 'TIMESTAMP_STALE', trace_id: 'trace-far' }, effects: 0 };
    const predictions: number[] = [];
    const verdict = await judgeTimed(ctx, { label: 'far edge', tag }, obs, (second) => {
      predictions.push(second);
      return predictRequest({ timestamp: 'stale' });
    });
    expect(verdict).toBe('unplaced');
    // Nothing judged, nothing checked: only the model's memory follows (one prediction, at the send time).
    expect(predictions).toHaveLength(1);
    expect(ctx.trail).toEqual([expect.stringMatching(/^far edge: not judged — .*stamped \+3995 ms outside its 5 ms round trip/)]);
    expect([...ctx.notTested]).toEqual([["far edge — the gate's audit records put its clock outside the request's round trip", CLOCK_AGREEMENT]]);
    expect(levelNeeds('core', CLOCK_AGREEMENT) && levelNeeds('full', CLOCK_AGREEMENT)).toBe(true);
    expect(real.steps).toBe(0);
  });
});

describe('a gate without the control channel (level core)', () => {
  /** The in-process reference, as a gate that offers neither clock-offset nor crash-restart nor direct calls. */
  function coreContext() {
    const { driver, harness } = contextFor();
    const capabilities = new Set<Capability>([...driver.capabilities].filter((c) => !['clock-offset', 'crash-restart', 'direct-execution'].includes(c)));
    const core = new Proxy(driver, {
      get: (target, property) => {
        if (property === 'capabilities') return capabilities;
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as Driver;
    return { ctx: new RunContext(core, harness.controlPlane, harness.recorder, W, 'core'), harness };
  }

  it('still tests the edges, placed by waiting for the second', async () => {
    const { ctx, harness } = coreContext();
    await new TimestampAtEdge('stale-edge').run({}, ctx);
    const sent = harness.recorder.events.filter((e) => e.kind === 'request');
    expect(sent).toHaveLength(1);
    // Sent after the middle of a second (a little later at most: the placement is checked before sending).
    expect(sent[0]!.at % 1000).toBeGreaterThanOrEqual(550);
    expect(ctx.trail.join('\n')).toMatch(new RegExp(`now -${W}s \\(stale-edge\\): expected executed, 1 effect\\(s\\); observed executed`));
    expect([...ctx.notTested]).toEqual([]);
  });

  it('tests memory on the clock as it is, and says what needs the clock moved', async () => {
    const { ctx } = coreContext();
    await new ReplayAfterClockJump({ signedAt: 'window-ahead', forwardSec: 2 * W - 5, restart: true, back: true }).run({}, ctx);
    await new ApprovalAfterClockJump({ forwardSec: W + 5, restart: false, back: true, direct: true }).run({}, ctx);
    expect(ctx.steps).toBe(4);
    expect(ctx.trail.join('\n')).toMatch(/replay of \S+ at once \(the clock cannot be moved here, so not the \+\d+s drawn\): expected denied with REPLAY_DETECTED/);
    expect(ctx.trail.join('\n')).toMatch(/at \+0s: a new request brings back approval \S+: expected denied with ENVELOPE_REPLAYED/);
    expect([...ctx.notTested]).toEqual([
      ['replay after the clock moved, across a restart', 'clock-offset'],
      ['approval used again after the clock moved, straight at the Execution Layer too', 'clock-offset'],
    ]);
  });
});

describe('memory the contract guarantees, and no more', () => {
  it('never replays a request whose claim the clock has moved past its horizon', async () => {
    const { ctx, driver, harness } = contextFor();
    await ctx.gateScenario({ label: 'a valid request', tag, answers: {} });
    const request = ctx.sent[0]!.request!;
    expect(stillRemembered(request, harness.recorder, W)).toBe(true);
    await driver.setClockOffset((2 * W + 10) * 1000);
    await driver.setClockOffset(0);
    // Twice the window past its timestamp has been read: a compliant gate may have forgotten it.
    expect(stillRemembered(request, harness.recorder, W)).toBe(false);
    const steps = ctx.steps;
    await ctx.replay(0, tag);
    expect(ctx.steps).toBe(steps);
  });
});
