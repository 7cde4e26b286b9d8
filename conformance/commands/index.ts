/** Every command, with the arbitrary that generates it. Add a command here to put it in every run. */
import fc from 'fast-check';
import type { Command } from './command.ts';
import { DirectCall } from './bypass-commands.ts';
import { ApprovalBoundElsewhere, ControlPlaneAnswers, ExpiredApproval, ForgedApproval, MalformedControlPlaneAnswer } from './control-plane-commands.ts';
import { AuditStoreFault, CrashDuringAuditOutage, LostConfirmation, NonceStoreFault, PartitionThenHeal, TamperInFlight } from './fault-commands.ts';
import { ClockSkew, ConcurrentDuplicates, CrashRestartThenReplay, ReplayEarlier, ReplayedApproval, SameNonceOtherIdentity } from './replay-commands.ts';
import { DelayedExecutionCall, LateControlPlaneAllow } from './late-commands.ts';
import { LATE_DELAYS_MS } from '../scenarios/late-answers.ts';
import { FutureTimestamp, MalformedBody, MalformedNonce, RevokedKey, StaleTimestamp, TamperedSignature, UnknownKey, ValidRequest } from './request-commands.ts';

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
    fc.constant(new LostConfirmation()),
    fc.nat({ max: 20 }).map((i) => new ReplayEarlier(i)),
    fc.tuple(fc.integer({ min: 2, max: 12 }), fc.scheduler()).map(([n, s]) => new ConcurrentDuplicates(n, s)),
    fc.constant(new SameNonceOtherIdentity()),
    fc.constant(new ReplayedApproval()),
    fc.nat({ max: 20 }).map((i) => new CrashRestartThenReplay(i)),
    fc.constantFrom(-3, 3, w - 5, -(w - 5), w + 30, -(w + 30)).map((s) => new ClockSkew(s)),
    fc.constantFrom('no-envelope', 'forged', 'expired', 'expired-at-edge', 'not-yet-valid', 'replayed', 'mismatched').map((k) => new DirectCall(k as never)),
    fc.constant(new CrashDuringAuditOutage()),
    fc.constantFrom('wrong-case', 'redirect', 'status-4xx').map((f) => new MalformedControlPlaneAnswer(f as never)),
    // One entry for both: each waits for the Gate's deadline, so together they come as often as any one command.
    fc.tuple(fc.boolean(), fc.constantFrom(...LATE_DELAYS_MS)).map(([allow, ms]) => (allow ? new LateControlPlaneAllow(ms) : new DelayedExecutionCall(ms))),
  ];
}
