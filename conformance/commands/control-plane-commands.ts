/** Commands about the Control Plane's answer and the envelope it carries (the harness plays it). */
import type { Answers, EnvelopeOptions } from '../../model/concrete-scenario.ts';
import type { MalformedForm } from '../../harness/control-plane/scripted-control-plane.ts';
import { ScenarioCommand } from './command.ts';

export type ControlPlaneFault = 'deny' | 'unreachable' | 'timeout' | 'malformed';

export class ControlPlaneAnswers extends ScenarioCommand {
  readonly threat = 'control-plane-failure';
  readonly answers: Answers;
  constructor(readonly answer: ControlPlaneFault) {
    super();
    this.answers = { controlPlane: answer };
  }
  toString() {
    return `ControlPlaneAnswers(${this.answer})`;
  }
}

/**
 * A Control Plane answer the contract's table maps to CONTROL_PLANE_MALFORMED although a valid
 * allow hides in it: a decision spelt "ALLOW", a redirect to an allow, a 403 carrying an allow.
 */
export class MalformedControlPlaneAnswer extends ScenarioCommand {
  readonly threat = 'control-plane-failure';
  readonly answers: Answers = { controlPlane: 'malformed' };
  constructor(readonly form: Exclude<MalformedForm, 'garbage'>) {
    super();
    this.controlPlaneForm = form;
  }
  toString() {
    return `MalformedControlPlaneAnswer(${this.form})`;
  }
}

export class ForgedApproval extends ScenarioCommand {
  readonly threat = 'forged-approval';
  readonly answers: Answers;
  constructor(readonly kind: 'unsignedAllow' | 'forged') {
    super();
    this.answers = { controlPlane: kind };
  }
  toString() {
    return `ForgedApproval(${this.kind})`;
  }
}

export class ExpiredApproval extends ScenarioCommand {
  readonly threat = 'expired-approval';
  readonly answers: Answers;
  constructor(
    readonly window: 'expired' | 'notYetValid',
    readonly atEdge: boolean,
  ) {
    super();
    this.answers = { envelopeWindow: window };
    this.envelope = { edge: atEdge };
  }
  toString() {
    // No commas: fast-check lists commands separated by them.
    return `ExpiredApproval(${this.window}${this.atEdge ? ' at the edge' : ''})`;
  }
}

export class ApprovalBoundElsewhere extends ScenarioCommand {
  readonly threat = 'argument-swap';
  readonly answers: Answers;
  constructor(
    readonly binding: 'otherRequest' | 'otherIdentity' | 'otherAction' | 'otherParameters',
    readonly swap: NonNullable<EnvelopeOptions['swap']>,
  ) {
    super();
    this.answers = { envelopeBinding: binding };
    this.envelope = { swap };
  }
  toString() {
    return `ApprovalBoundElsewhere(${this.binding}${this.binding === 'otherParameters' ? ` ${this.swap}` : ''})`;
  }
}
