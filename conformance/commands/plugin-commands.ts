/**
 * Plug-in commands: a user's fast-check command, without editing commands/index.ts. A plug-in
 * declares its threat (and, where they differ from the threat's, the invariants it puts at stake),
 * an arbitrary of its parameters (which shrinks), and what it does through CommandSteps — a narrow
 * face of the RunContext whose every step is predicted by the model and checked, exactly as the
 * built-in commands' steps are. The campaign draws plug-ins among the built-in commands; one with
 * a `prelude` value also runs once in the prelude, so the quick profile always exercises it.
 */
import fc from 'fast-check';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import type { InvariantId } from '../../model/profile/denial-codes.ts';
import { INVARIANT_IDS } from '../../model/profile/denial-codes.ts';
import type { Answers } from '../../model/concrete-scenario.ts';
import { QUESTIONS } from '../../model/questions.ts';
import type { Question } from '../../model/questions.ts';
import type { RunContext } from '../run-context.ts';
import type { Threat } from '../threats.ts';
import { THREATS } from '../threats.ts';
import { Command } from './command.ts';
import type { NoModel } from './command.ts';

/** What a plug-in command can do: each step is one model scenario (or primitive), predicted and checked. */
export interface CommandSteps {
  /** the acceptance window of the run, seconds */
  readonly acceptanceWindowSec: number;
  /**
   * One request through the Gate with the environment answering `answers` (model/questions.ts;
   * `{}` is a healthy request that executes). False when the system lacks what it needs (then it
   * is reported not tested).
   */
  request(answers: Answers, options?: { identity?: 'alice' | 'bob'; parameters?: JsonValue; label?: string }): Promise<boolean>;
  /** A call straight to the Execution Layer with the envelope the answers describe (INV-6). */
  directCall(answers: Answers, options?: { afterApprovalUsed?: boolean; label?: string }): Promise<boolean>;
  /** An earlier request of this run sent again, byte for byte (an executed one first). */
  replay(earlier: number): Promise<void>;
  /** n identical copies of one valid request at once: exactly one may execute. */
  concurrentDuplicates(n: number): Promise<void>;
  /** Kill and restart the system on its durable state; false when it cannot be. */
  crashAndRestart(): Promise<boolean>;
  /** Move the system's clock by `offsetSec` for one request. */
  clockSkew(offsetSec: number): Promise<void>;
}

export interface PluginCommand<P = unknown> {
  /** how counterexamples name it: `${name}(${parameters})` */
  name: string;
  threat: Threat;
  /** the invariants it puts at stake, when not its threat's (THREAT_INVARIANTS) */
  invariants?: readonly InvariantId[];
  /** its parameters, generated and shrunk by fast-check (use the `fc` failclosed/api exports) */
  parameters: fc.Arbitrary<P>;
  run(steps: CommandSteps, parameters: P): Promise<void>;
  /** parameters for one run in the prelude (omit: drawn only in the random phase) */
  prelude?: P;
}

const COMMAND_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export class PluginCommandError extends Error {
  override name = 'PluginCommandError';
}

function commandProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'is not an object';
  const v = value as Partial<Record<keyof PluginCommand, unknown>>;
  if (typeof v.name !== 'string' || !COMMAND_NAME.test(v.name)) return `has no valid name (${JSON.stringify(v.name)}; want ${COMMAND_NAME})`;
  if (typeof v.threat !== 'string' || !Object.hasOwn(THREATS, v.threat)) return `${v.name}: threat must be one of ${Object.keys(THREATS).join(', ')}`;
  if (v.invariants !== undefined && (!Array.isArray(v.invariants) || !v.invariants.every((i) => (INVARIANT_IDS as readonly unknown[]).includes(i)))) {
    return `${v.name}: invariants must be among ${INVARIANT_IDS.join(', ')}`;
  }
  if (!(v.parameters instanceof fc.Arbitrary)) return `${v.name}: parameters must be a fast-check Arbitrary (use fc from failclosed/api, the harness's own fast-check)`;
  if (typeof v.run !== 'function') return `${v.name} has no run function`;
  return undefined;
}

export function validatePluginCommands(values: readonly unknown[], source = 'plug-in commands'): PluginCommand[] {
  const seen = new Set<string>();
  return values.map((value, i) => {
    const problem = commandProblem(value);
    if (problem) throw new PluginCommandError(`${source}: command #${i + 1} ${problem}`);
    const command = value as PluginCommand;
    if (seen.has(command.name)) throw new PluginCommandError(`${source}: the name ${command.name} is used twice`);
    seen.add(command.name);
    return command;
  });
}

function answersProblem(answers: Answers): string | undefined {
  for (const [question, answer] of Object.entries(answers)) {
    if (!Object.hasOwn(QUESTIONS, question)) return `no question "${question}" in model/questions.ts`;
    if (!(QUESTIONS[question as Question] as readonly string[]).includes(answer as string)) return `"${answer}" is not an answer of ${question} (${QUESTIONS[question as Question].join(', ')})`;
  }
  return undefined;
}

/** A plug-in with drawn parameters, as the campaign runs it. */
class PluginCommandInstance<P> extends Command {
  readonly threat: Threat;
  protected override readonly ownInvariants: readonly InvariantId[] | undefined;
  constructor(
    private readonly spec: PluginCommand<P>,
    private readonly parameters: P,
  ) {
    super();
    this.threat = spec.threat;
    this.ownInvariants = spec.invariants;
  }
  async run(_model: NoModel, ctx: RunContext): Promise<void> {
    const tag = { threat: this.threat, invariants: this.invariants };
    const label = (given: string | undefined, what: string) => `${this.toString()}: ${given ?? what}`;
    const checked = (answers: Answers) => {
      const problem = answersProblem(answers);
      if (problem) throw new PluginCommandError(`plug-in command ${this.spec.name}: ${problem}`);
      return answers;
    };
    const steps: CommandSteps = {
      acceptanceWindowSec: ctx.acceptanceWindowSec,
      request: (answers, o = {}) =>
        ctx.gateScenario({
          label: label(o.label, describeAnswers(answers)),
          tag,
          answers: checked(answers),
          ...(o.identity ? { identity: o.identity } : {}),
          ...(o.parameters !== undefined ? { parameters: o.parameters } : {}),
        }),
      directCall: (answers, o = {}) =>
        ctx.directCall({ label: label(o.label, `direct call ${describeAnswers(answers)}`), tag, answers: checked(answers), prior: o.afterApprovalUsed ? 'approvalConsumed' : 'none' }),
      replay: (earlier) => ctx.replay(earlier, tag),
      concurrentDuplicates: (n) => ctx.concurrentDuplicates(Math.max(2, Math.min(64, Math.floor(n))), tag),
      crashAndRestart: () => ctx.crashAndRestart(),
      clockSkew: (offsetSec) => ctx.clockSkew(offsetSec, tag),
    };
    await this.spec.run(steps, this.parameters);
  }
  toString(): string {
    return `${this.spec.name}(${fc.stringify(this.parameters)})`;
  }
}

const describeAnswers = (answers: Answers) =>
  Object.keys(answers).length === 0 ? 'healthy' : Object.entries(answers).map(([q, a]) => `${q}.${a}`).join(' ');

/** The arbitraries the campaign draws plug-ins from, one per plug-in. */
export function pluginCommandArbitraries(commands: readonly PluginCommand[]): fc.Arbitrary<Command>[] {
  return commands.map((spec) => spec.parameters.map((p): Command => new PluginCommandInstance(spec, p)));
}

/** The plug-ins' prelude instances. */
export function pluginPreludeCommands(commands: readonly PluginCommand[]): Command[] {
  return commands.flatMap((spec) => (spec.prelude !== undefined ? [new PluginCommandInstance(spec, spec.prelude)] : []));
}
