/**
 * The shape of a conformance command (fast-check's async command style): one small class per
 * action. `check` is always true — a command whose capability the system lacks records itself as
 * not tested instead of being silently dropped.
 */
import type { LostConfirmationForm } from '../driver.ts';
import type fc from 'fast-check';
import type { InvariantId } from '../../model/profile/denial-codes.ts';
import type { Answers } from '../../model/concrete-scenario.ts';
import type { EnvelopeOptions } from '../../model/concrete-scenario.ts';
import type { MalformedKind } from '../run-context.ts';
import type { MalformedForm } from '../../harness/control-plane/scripted-control-plane.ts';
import type { RunContext } from '../run-context.ts';
import type { Tagged, Threat } from '../threats.ts';
import { THREAT_INVARIANTS } from '../threats.ts';

/** fast-check's model slot: the RunContext carries the model, so this stays empty. */
export type NoModel = object;

export abstract class Command implements fc.AsyncCommand<NoModel, RunContext>, Tagged {
  abstract readonly threat: Threat;
  /** set only where a command puts other invariants at stake than its threat does */
  protected readonly ownInvariants: readonly InvariantId[] | undefined = undefined;
  get invariants(): readonly InvariantId[] {
    return this.ownInvariants ?? THREAT_INVARIANTS[this.threat];
  }
  check(): boolean {
    return true;
  }
  abstract run(model: NoModel, ctx: RunContext): Promise<void>;
  abstract toString(): string;
}

/** A command that is one model scenario through the Gate. */
export abstract class ScenarioCommand extends Command {
  abstract readonly answers: Answers;
  protected envelope?: EnvelopeOptions;
  protected malformed?: MalformedKind;
  protected controlPlaneForm?: MalformedForm;
  protected confirmationForm?: LostConfirmationForm;
  async run(_model: NoModel, ctx: RunContext): Promise<void> {
    await ctx.gateScenario({
      label: this.toString(),
      tag: this,
      answers: this.answers,
      ...(this.envelope ? { envelope: this.envelope } : {}),
      ...(this.malformed ? { malformed: this.malformed } : {}),
      ...(this.controlPlaneForm ? { controlPlaneForm: this.controlPlaneForm } : {}),
      ...(this.confirmationForm ? { confirmationForm: this.confirmationForm } : {}),
    });
  }
}

/** A command that is always the same model scenario, named `<name>()`. */
export function fixedScenario(name: string, threat: Threat, answers: Answers, invariants?: readonly InvariantId[]): new () => ScenarioCommand {
  return class extends ScenarioCommand {
    readonly threat = threat;
    readonly answers = answers;
    protected override readonly ownInvariants = invariants;
    toString() {
      return `${name}()`;
    }
  };
}
