/**
 * The prelude: every scenario of the model once (full transition coverage of both charts), then
 * the commands whose behaviour lies outside one request. It runs before any random sequence, so
 * every run starts with the whole model exercised.
 */
import { answersOf } from '../../model/concrete-scenario.ts';
import type { Answers } from '../../model/concrete-scenario.ts';
import type { DirectCallRun, GateRun, PriorHistory } from '../../model/predict.ts';
import { enumerateDirectCallScenarios, enumerateGateScenarios } from '../../model/predict.ts';
import type { Question } from '../../model/questions.ts';
import { isHealthy } from '../../model/questions.ts';
import type { Command } from '../commands/command.ts';
import { DirectCall, MalformedDirectCall } from '../commands/bypass-commands.ts';
import { MALFORMED_CALLS } from '../scenarios/malformed-calls.ts';
import { dataPreludeCommands } from '../commands/data-commands.ts';
import { ApprovalBoundElsewhere, ExpiredApproval, MalformedControlPlaneAnswer } from '../commands/control-plane-commands.ts';
import { LostConfirmation, PartitionThenHeal } from '../commands/fault-commands.ts';
import { MalformedBody } from '../commands/request-commands.ts';
import { ClockSkew, ConcurrentDuplicates, CrashRestartThenReplay, ReplayEarlier, SameNonceOtherIdentity } from '../commands/replay-commands.ts';
import { timePreludeCommands } from '../commands/time-commands.ts';
import type { Capability } from '../driver.ts';
import { AbortedUpload, ApprovalReplayAfterRestart, HealthDuringOutage, KeyOfAnotherIdentity, SameBytesTwice } from '../commands/obligation-commands.ts';
import { Burst, GateShapedProbe, TrustHeaders } from '../commands/probe-commands.ts';
import { CrashAwaitingApproval, CrashMidClaim, ReplayThroughOtherReplica, SpreadDuplicates } from '../commands/replica-commands.ts';
import type { BurstMember } from '../scenarios/bursts.ts';
import { BURST_LIMIT } from '../scenarios/bursts.ts';
import { PROBE_KINDS } from '../scenarios/probes.ts';
import type { RunContext } from '../run-context.ts';
import { StepNotObserved, faultsFor } from '../run-context.ts';
import type { Threat } from '../threats.ts';
import { THREAT_INVARIANTS } from '../threats.ts';

/** The threat a scenario stands for, by its first unhealthy answer. */
export const THREAT_OF: Readonly<Record<Question, Threat>> = {
  requestShape: 'malformed-input',
  identityKey: 'forged-request',
  signature: 'forged-request',
  timestamp: 'stale-request',
  nonceStore: 'nonce-store-failure',
  controlPlane: 'control-plane-failure',
  envelopeWindow: 'expired-approval',
  envelopeBinding: 'argument-swap',
  auditStore: 'audit-failure',
  executionLink: 'partition-during-approval',
  executionOutcome: 'lost-confirmation',
  presentedEnvelope: 'bypass',
  envelopeSignature: 'bypass',
  callBinding: 'bypass',
};

export function scenarioLabel(prior: PriorHistory, steps: readonly { question: Question; answer: string }[]): string {
  const faults = steps.filter((s) => !isHealthy(s.question, s.answer)).map((s) => `${s.question}.${s.answer}`);
  return `${prior === 'none' ? '' : `[${prior}] `}${faults.join(' ') || 'healthy'}`;
}

/** The threat one unhealthy answer stands for (a few answers are sharper than their question). */
export function threatOfAnswer(question: Question, answer: string): Threat {
  if (question === 'executionLink' && answer === 'tampered') return 'argument-swap';
  if ((question === 'executionLink' && answer === 'delayed') || (question === 'controlPlane' && answer === 'lateAllow')) return 'late-answer';
  if (question === 'controlPlane' && (answer === 'unsignedAllow' || answer === 'forged')) return 'forged-approval';
  return THREAT_OF[question];
}

export function tagOf(prior: PriorHistory, steps: readonly { question: Question; answer: string }[]) {
  const first = steps.find((s) => !isHealthy(s.question, s.answer));
  const threat: Threat = prior !== 'none' ? 'replay' : first ? threatOfAnswer(first.question, first.answer) : 'happy-path';
  return { threat, invariants: THREAT_INVARIANTS[threat] };
}

/** One scenario of the model as the prelude drives it, with what it needs of the system. */
export interface ModelScenario {
  kind: 'gate' | 'direct call';
  label: string;
  prior: PriorHistory;
  answers: Answers;
  run: GateRun | DirectCallRun;
  /** capabilities the system must offer for it to be driven */
  needs: Capability[];
  /** "chart:state:question.answer" for each transition it takes */
  transitions: string[];
}

let scenarios: ModelScenario[] | undefined;

/** Every scenario the prelude drives, in order (computed once: the model does not change). */
export function modelScenarios(): readonly ModelScenario[] {
  if (scenarios) return scenarios;
  const list: ModelScenario[] = [];
  for (const run of enumerateGateScenarios()) {
    const answers = answersOf(run);
    list.push({
      kind: 'gate',
      label: scenarioLabel(run.prior, run.steps),
      prior: run.prior,
      answers,
      run,
      needs: faultsFor(answers),
      transitions: run.steps.map((s) => `gate:${s.state}:${s.question}.${s.answer}`),
    });
  }
  for (const run of enumerateDirectCallScenarios()) {
    // A valid, unused envelope made up by the harness is not a compliant trace: its effect would
    // have no policy exchange. Those runs are the Execution Layer's own tests.
    if (run.outcome.decision === 'executed') continue;
    const answers = answersOf(run);
    list.push({
      kind: 'direct call',
      label: `direct call ${scenarioLabel(run.prior, run.steps)}`,
      prior: run.prior === 'approvalConsumed' ? 'approvalConsumed' : 'none',
      answers,
      run,
      needs: ['direct-execution'],
      transitions: run.steps.map((s) => `executionLayer:${s.state}:${s.question}.${s.answer}`),
    });
  }
  scenarios = list;
  return list;
}

/** The commands whose behaviour lies outside one request (made anew per run: commands keep state). */
export function preludeCommands(acceptanceWindowSec: number): Command[] {
  return [
    new ConcurrentDuplicates(8),
    new SameNonceOtherIdentity(),
    new PartitionThenHeal(),
    new ExpiredApproval('expired', true),
    new ApprovalBoundElsewhere('otherParameters', 'nested'),
    new ApprovalBoundElsewhere('otherParameters', 'array-order'),
    // Control Plane answers that are no decision, besides the garbage the model scenario plays.
    ...(['wrong-case', 'null', 'array'] as const).map((f) => new MalformedControlPlaneAnswer(f)),
    // Bodies that are not a call, straight to the Execution Layer (beside the model's envelope cases).
    ...MALFORMED_CALLS.map((f) => new MalformedDirectCall(f)),
    // The lost answer in the forms besides a reset (which the model scenario plays).
    ...(['garbage', 'status-5xx', 'incomplete'] as const).map((f) => new LostConfirmation(f)),
    ...(['duplicate-key', 'missing-field', 'wrong-type', 'proto-key', 'not-json', 'oversized'] as const).map((k) => new MalformedBody(k)),
    new ClockSkew(acceptanceWindowSec + 30),
    new ClockSkew(-(acceptanceWindowSec + 30)),
    new DirectCall('expired-at-edge'),
    new CrashRestartThenReplay(0),
    new ReplayEarlier(1),
    // generated data and byte spellings (commands/data-commands.ts)
    ...dataPreludeCommands(),
    ...timePreludeCommands(acceptanceWindowSec),
    // Obligations no model scenario reaches alone (issue 10, classes 5–7). Those that crash come
    // first: gateway events need not survive a crash, so only what follows the last one is judged
    // on them — and much follows it.
    new ApprovalReplayAfterRestart('gate'),
    new ApprovalReplayAfterRestart('direct'),
    new CrashMidClaim(2),
    new CrashAwaitingApproval(),
    new KeyOfAnotherIdentity('alice-with-bob-key'),
    new AbortedUpload({ fraction: 0.5, size: 'small' }),
    new SameBytesTwice('bad-signature'),
    new HealthDuringOutage(),
    new TrustHeaders('bad-signature'),
    new TrustHeaders('stale'),
    new GateShapedProbe(PROBE_KINDS),
    new Burst(PRELUDE_BURST),
    new SpreadDuplicates(4, 0),
    new SpreadDuplicates(4, 3),
    new ReplayThroughOtherReplica(30),
  ];
}

/** A burst at the contract's limit: mostly valid requests, some the Gate must deny, copies of one. */
const PRELUDE_BURST: readonly BurstMember[] = Array.from({ length: BURST_LIMIT }, (_, i) => (['valid', 'valid', 'bad-signature', 'valid', 'copy', 'valid', 'stale', 'valid', 'unknown-key', 'valid', 'malformed', 'copy'] as const)[i % 12]!);

/** Scenarios whose answer comes late: each waits for the Gate's deadline and a watch of the sink. */
const isLate = (scenario: ModelScenario) => scenario.answers.controlPlane === 'lateAllow' || scenario.answers.executionLink === 'delayed';

/** Drives the prelude through one run context; returns how many scenarios it drove. */
export async function runPrelude(ctx: RunContext, pluginCommands: readonly Command[] = []): Promise<number> {
  let driven = 0;
  // The slow ones last: a system that fails elsewhere is caught before they cost their wait.
  const ordered = [...modelScenarios().filter((s) => !isLate(s)), ...modelScenarios().filter(isLate)];
  for (const scenario of ordered) {
    ctx.beginSegment(scenario.label);
    const tag = tagOf(scenario.kind === 'gate' ? scenario.prior : 'none', scenario.run.steps);
    await unlessNotObserved(() =>
      scenario.kind === 'gate'
        ? ctx.gateScenario({ label: scenario.label, tag, answers: scenario.answers, prior: scenario.prior })
        : ctx.directCall({ label: scenario.label, tag, answers: scenario.answers, prior: scenario.prior === 'approvalConsumed' ? 'approvalConsumed' : 'none' }),
    );
    driven += 1;
  }
  for (const command of [...preludeCommands(ctx.acceptanceWindowSec), ...pluginCommands]) {
    ctx.beginSegment(command.toString());
    await unlessNotObserved(() => command.run({}, ctx));
    driven += 1;
  }
  return driven;
}

/** A scenario ended by a timeout the harness did not provoke is recorded (and the run inconclusive); the next one runs. */
async function unlessNotObserved(scenario: () => Promise<unknown>): Promise<void> {
  try {
    await scenario();
  } catch (error) {
    if (!(error instanceof StepNotObserved)) throw error;
  }
}
