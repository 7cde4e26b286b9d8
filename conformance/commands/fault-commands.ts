/** Commands that break a dependency inside the system while a request passes (nemeses). */
import type { Answers } from '../../model/concrete-scenario.ts';
import type { RunContext } from '../run-context.ts';
import type { NoModel } from './command.ts';
import { Command, ScenarioCommand } from './command.ts';

export class NonceStoreFault extends ScenarioCommand {
  readonly threat = 'nonce-store-failure';
  readonly invariants = ['INV-3', 'INV-4'] as const;
  readonly answers: Answers;
  constructor(readonly kind: 'unavailable' | 'writeUnconfirmed') {
    super();
    this.answers = { nonceStore: kind };
  }
  toString() {
    return `NonceStoreFault(${this.kind})`;
  }
}

export class AuditStoreFault extends ScenarioCommand {
  readonly threat = 'audit-failure';
  readonly invariants = ['INV-5', 'INV-4'] as const;
  readonly answers: Answers = { auditStore: 'failing' };
  toString() {
    return 'AuditStoreFault()';
  }
}

export class PartitionThenHeal extends Command {
  readonly threat = 'partition-during-approval';
  readonly invariants = ['INV-4'] as const;
  async run(_m: NoModel, ctx: RunContext): Promise<void> {
    await ctx.partitionThenHeal(this);
  }
  toString() {
    return 'PartitionThenHeal()';
  }
}

export class TamperInFlight extends ScenarioCommand {
  readonly threat = 'argument-swap';
  readonly invariants = ['INV-2', 'INV-6'] as const;
  readonly answers: Answers = { executionLink: 'tampered' };
  toString() {
    return 'TamperInFlight()';
  }
}

export class LostConfirmation extends ScenarioCommand {
  readonly threat = 'lost-confirmation';
  readonly invariants = ['INV-4'] as const;
  readonly answers: Answers = { executionOutcome: 'unconfirmed' };
  toString() {
    return 'LostConfirmation()';
  }
}
