/** Commands that break a dependency inside the system while a request passes (nemeses). */
import type { Answers } from '../../model/concrete-scenario.ts';
import type { LostConfirmationForm } from '../driver.ts';
import type { RunContext } from '../run-context.ts';
import type { NoModel } from './command.ts';
import { Command, ScenarioCommand, fixedScenario } from './command.ts';

export class NonceStoreFault extends ScenarioCommand {
  readonly threat = 'nonce-store-failure';
  readonly answers: Answers;
  constructor(readonly kind: 'unavailable' | 'writeUnconfirmed') {
    super();
    this.answers = { nonceStore: kind };
  }
  toString() {
    return `NonceStoreFault(${this.kind})`;
  }
}

export const AuditStoreFault = fixedScenario('AuditStoreFault', 'audit-failure', { auditStore: 'failing' });

export class PartitionThenHeal extends Command {
  readonly threat = 'partition-during-approval';
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await ctx.partitionThenHeal(this);
  }
  toString() {
    return 'PartitionThenHeal()';
  }
}

// The Execution Layer's own check is what refuses it: a bypass of the Gate's binding, too.
export const TamperInFlight = fixedScenario('TamperInFlight', 'argument-swap', { executionLink: 'tampered' }, ['INV-2', 'INV-6']);

/** The Execution Layer ran the call and its answer is lost — in one of the forms the harness can play (reset: the default). */
export class LostConfirmation extends ScenarioCommand {
  readonly threat = 'lost-confirmation';
  readonly answers: Answers = { executionOutcome: 'unconfirmed' };
  constructor(readonly form: LostConfirmationForm = 'reset') {
    super();
    this.confirmationForm = form;
  }
  toString() {
    return this.form === 'reset' ? 'LostConfirmation()' : `LostConfirmation(${this.form})`;
  }
}

/** A final record waits for the audit log, and the system crashes before the log is back: the record must survive. */
export class CrashDuringAuditOutage extends Command {
  readonly threat = 'audit-failure';
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await ctx.crashDuringAuditOutage(this);
  }
  toString() {
    return 'CrashDuringAuditOutage()';
  }
}
