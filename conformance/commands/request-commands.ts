/** Commands about the client request itself: who signed it, when, and whether it is well formed. */
import type { Answers } from '../../model/concrete-scenario.ts';
import type { MalformedKind } from '../run-context.ts';
import { ScenarioCommand } from './command.ts';

export class ValidRequest extends ScenarioCommand {
  readonly threat = 'happy-path';
  readonly invariants = [] as const;
  readonly answers: Answers = {};
  toString() {
    return 'ValidRequest()';
  }
}

export class TamperedSignature extends ScenarioCommand {
  readonly threat = 'forged-request';
  readonly invariants = ['INV-3'] as const;
  readonly answers: Answers = { signature: 'invalid' };
  toString() {
    return 'TamperedSignature()';
  }
}

export class UnknownKey extends ScenarioCommand {
  readonly threat = 'forged-request';
  readonly invariants = ['INV-3'] as const;
  readonly answers: Answers = { identityKey: 'unknown' };
  toString() {
    return 'UnknownKey()';
  }
}

export class RevokedKey extends ScenarioCommand {
  readonly threat = 'forged-request';
  readonly invariants = ['INV-3'] as const;
  readonly answers: Answers = { identityKey: 'revoked' };
  toString() {
    return 'RevokedKey()';
  }
}

export class StaleTimestamp extends ScenarioCommand {
  readonly threat = 'stale-request';
  readonly invariants = ['INV-3', 'INV-4'] as const;
  readonly answers: Answers = { timestamp: 'stale' };
  toString() {
    return 'StaleTimestamp()';
  }
}

export class FutureTimestamp extends ScenarioCommand {
  readonly threat = 'stale-request';
  readonly invariants = ['INV-3', 'INV-4'] as const;
  readonly answers: Answers = { timestamp: 'future' };
  toString() {
    return 'FutureTimestamp()';
  }
}

export class MalformedBody extends ScenarioCommand {
  readonly threat = 'malformed-input';
  readonly invariants = ['INV-3', 'INV-5'] as const;
  readonly answers: Answers = { requestShape: 'malformed' };
  constructor(protected override readonly malformed: MalformedKind) {
    super();
  }
  toString() {
    return `MalformedBody(${this.malformed})`;
  }
}

export class MalformedNonce extends ScenarioCommand {
  readonly threat = 'malformed-input';
  readonly invariants = ['INV-3'] as const;
  readonly answers: Answers = { requestShape: 'nonceMalformed' };
  toString() {
    return 'MalformedNonce()';
  }
}
