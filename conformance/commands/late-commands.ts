/**
 * Commands whose answer comes too late: a valid allow the Control Plane sends after the Gate's
 * deadline, and a Gate→Execution Layer call delivered after it (conformance/scenarios/late-answers.ts).
 * Each is one model scenario (controlPlane.lateAllow, executionLink.delayed) at a chosen delay.
 */
import type { Answers } from '../../model/concrete-scenario.ts';
import type { RunContext } from '../run-context.ts';
import type { NoModel } from './command.ts';
import { ScenarioCommand } from './command.ts';

abstract class LateCommand extends ScenarioCommand {
  readonly threat = 'late-answer';
  constructor(readonly lateByMs: number) {
    super();
  }
  override async run(_model: NoModel, ctx: RunContext): Promise<void> {
    await ctx.gateScenario({ label: this.toString(), tag: this, answers: this.answers, lateByMs: this.lateByMs });
  }
}

/** The Control Plane allows — signed, bound, current — but only `lateByMs` after the Gate answered: it must stay denied. */
export class LateControlPlaneAllow extends LateCommand {
  readonly answers: Answers = { controlPlane: 'lateAllow' };
  toString() {
    return `LateControlPlaneAllow(${this.lateByMs} ms)`;
  }
}

/**
 * The Gate's call reaches the Execution Layer `lateByMs` after the Gate answered: it runs, so the
 * Gate must have said EXECUTION_UNCONFIRMED — never EXECUTION_UNAVAILABLE, which says nothing ran.
 */
export class DelayedExecutionCall extends LateCommand {
  readonly answers: Answers = { executionLink: 'delayed' };
  toString() {
    return `DelayedExecutionCall(${this.lateByMs} ms)`;
  }
}
