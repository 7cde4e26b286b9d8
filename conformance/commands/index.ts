/** Every command, with the arbitrary that generates it. Add a command here to put it in every run. */
import { LOST_CONFIRMATION_FORMS } from '../driver.ts';
import fc from 'fast-check';
import type { Command } from './command.ts';
import { DirectCall, MalformedDirectCall } from './bypass-commands.ts';
import { MALFORMED_CALLS } from '../scenarios/malformed-calls.ts';
import { dataCommandArbitraries } from './data-commands.ts';
import { ApprovalBoundElsewhere, ControlPlaneAnswers, ExpiredApproval, ForgedApproval, MalformedControlPlaneAnswer } from './control-plane-commands.ts';
import { AuditStoreFault, CrashDuringAuditOutage, LostConfirmation, NonceStoreFault, PartitionThenHeal, TamperInFlight } from './fault-commands.ts';
import { ClockSkew, ConcurrentDuplicates, CrashRestartThenReplay, ReplayEarlier, ReplayedApproval, SameNonceOtherIdentity } from './replay-commands.ts';
import { timeCommandArbitraries } from './time-commands.ts';
import { DelayedExecutionCall, LateControlPlaneAllow } from './late-commands.ts';
import { LATE_DELAYS_MS } from '../scenarios/late-answers.ts';
import { FutureTimestamp, MalformedBody, MalformedNonce, RevokedKey, StaleTimestamp, TamperedSignature, UnknownKey, ValidRequest } from './request-commands.ts';
import { AbortedUpload, ApprovalReplayAfterRestart, HealthDuringOutage, KeyOfAnotherIdentity, SameBytesTwice } from './obligation-commands.ts';
import { Burst, GateShapedProbe, TrustHeaders } from './probe-commands.ts';
import { CrashAwaitingApproval, CrashMidClaim, ReplayThroughOtherReplica, SpreadDuplicates } from './replica-commands.ts';
import { BURST_LIMIT, BURST_MEMBERS } from '../scenarios/bursts.ts';
import { PROBE_KINDS, TRUST_HEADER_NAMES } from '../scenarios/probes.ts';
import { REPLICA_ADVANCES_SEC } from '../scenarios/replicas.ts';

export function commandArbitraries(acceptanceWindowSec: number): fc.Arbitrary<Command>[] {
  const w = acceptanceWindowSec;
  return [
    fc.constant(new ValidRequest()),
    fc.constant(new ValidRequest()),
    fc.constant(new TamperedSignature()),
    fc.constant(new UnknownKey()),
    fc.constant(new RevokedKey()),
    fc.constant(new StaleTimestamp()),
    fc.constant(new FutureTimestamp()),
    fc.constantFrom('truncated', 'duplicate-key', 'missing-field', 'wrong-type', 'proto-key', 'not-json', 'oversized').map((k) => new MalformedBody(k as never)),
    fc.constant(new MalformedNonce()),
    fc.constantFrom('deny', 'unreachable', 'timeout', 'malformed').map((a) => new ControlPlaneAnswers(a as never)),
    fc.constantFrom('unsignedAllow', 'forged').map((k) => new ForgedApproval(k as never)),
    fc.tuple(fc.constantFrom('expired', 'notYetValid'), fc.boolean()).map(([wdw, edge]) => new ExpiredApproval(wdw as never, edge)),
    fc
      .tuple(fc.constantFrom('otherRequest', 'otherIdentity', 'otherAction', 'otherParameters'), fc.constantFrom('nested', 'array-order', 'whole'))
      .map(([b, s]) => new ApprovalBoundElsewhere(b as never, s as never)),
    fc.constantFrom('unavailable', 'writeUnconfirmed').map((k) => new NonceStoreFault(k as never)),
    fc.constant(new AuditStoreFault()),
    fc.constant(new PartitionThenHeal()),
    fc.constant(new TamperInFlight()),
    fc.constantFrom(...LOST_CONFIRMATION_FORMS).map((f) => new LostConfirmation(f)),
    fc.nat({ max: 20 }).map((i) => new ReplayEarlier(i)),
    fc.tuple(fc.integer({ min: 2, max: BURST_LIMIT }), fc.scheduler()).map(([n, s]) => new ConcurrentDuplicates(n, s)),
    fc.constant(new SameNonceOtherIdentity()),
    fc.constant(new ReplayedApproval()),
    fc.nat({ max: 20 }).map((i) => new CrashRestartThenReplay(i)),
    fc.constantFrom(-3, 3, w - 5, -(w - 5), w + 30, -(w + 30)).map((s) => new ClockSkew(s)),
    fc.constantFrom('no-envelope', 'forged', 'expired', 'expired-at-edge', 'not-yet-valid', 'replayed', 'mismatched').map((k) => new DirectCall(k as never)),
    fc.constantFrom(...MALFORMED_CALLS).map((f) => new MalformedDirectCall(f)),
    fc.constant(new CrashDuringAuditOutage()),
    fc.constantFrom('wrong-case', 'redirect', 'status-4xx', 'null', 'array').map((f) => new MalformedControlPlaneAnswer(f as never)),
    // generated data and byte spellings (commands/data-commands.ts)
    ...dataCommandArbitraries(),
    ...timeCommandArbitraries(w),
    // Obligations no command exercised before (issue 10, class 6).
    fc.constantFrom('alice-with-bob-key', 'bob-with-alice-key').map((f) => new KeyOfAnotherIdentity(f as never)),
    fc.constantFrom('gate', 'direct').map((v) => new ApprovalReplayAfterRestart(v as never)),
    fc.record({ fraction: fc.integer({ min: 1, max: 99 }).map((p) => p / 100), size: fc.constantFrom('small', 'large') }).map((f) => new AbortedUpload(f as never)),
    fc.constantFrom('bad-signature', 'stale', 'malformed-nonce').map((f) => new SameBytesTwice(f as never)),
    fc.constant(new HealthDuringOutage()),
    // Trust paths and bursts (class 5): headers at the Gate, the Gate's own call shape at the Execution Layer.
    fc.tuple(fc.constantFrom('bad-signature', 'stale', 'future', 'unknown-key', 'revoked-key'), fc.subarray(TRUST_HEADER_NAMES, { minLength: 1 })).map(([f, h]) => new TrustHeaders(f as never, h)),
    fc.subarray([...PROBE_KINDS], { minLength: 1 }).map((k) => new GateShapedProbe(k)),
    fc
      .integer({ min: 2, max: BURST_LIMIT })
      .chain((n) => fc.array(fc.oneof({ arbitrary: fc.constant('valid' as const), weight: 4 }, fc.constantFrom(...BURST_MEMBERS)), { minLength: n, maxLength: n }))
      .map((members) => new Burst(members)),
    // Replicas under interleaving (class 7).
    fc.tuple(fc.integer({ min: 2, max: 8 }), fc.constantFrom(0, 1, 3, 8)).map(([n, ms]) => new SpreadDuplicates(n, ms)),
    fc.constantFrom(...REPLICA_ADVANCES_SEC).map((s) => new ReplayThroughOtherReplica(s)),
    fc.constantFrom(0, 1, 3, 8).map((ms) => new CrashMidClaim(ms)),
    fc.constant(new CrashAwaitingApproval()),
    // One entry for both: each waits for the Gate's deadline, so together they come as often as any one command.
    fc.tuple(fc.boolean(), fc.constantFrom(...LATE_DELAYS_MS)).map(([allow, ms]) => (allow ? new LateControlPlaneAllow(ms) : new DelayedExecutionCall(ms))),
  ];
}
