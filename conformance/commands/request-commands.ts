/** Commands about the client request itself: who signed it, when, and whether it is well formed. */
import type { Answers } from '../../model/concrete-scenario.ts';
import type { MalformedKind } from '../run-context.ts';
import { ScenarioCommand, fixedScenario } from './command.ts';

export const ValidRequest = fixedScenario('ValidRequest', 'happy-path', {});
export const TamperedSignature = fixedScenario('TamperedSignature', 'forged-request', { signature: 'invalid' });
export const UnknownKey = fixedScenario('UnknownKey', 'forged-request', { identityKey: 'unknown' });
export const RevokedKey = fixedScenario('RevokedKey', 'forged-request', { identityKey: 'revoked' });
export const StaleTimestamp = fixedScenario('StaleTimestamp', 'stale-request', { timestamp: 'stale' });
export const FutureTimestamp = fixedScenario('FutureTimestamp', 'stale-request', { timestamp: 'future' });
// A malformed nonce concerns the request's single use alone (INV-3), not its audit.
export const MalformedNonce = fixedScenario('MalformedNonce', 'malformed-input', { requestShape: 'nonceMalformed' }, ['INV-3']);

export class MalformedBody extends ScenarioCommand {
  readonly threat = 'malformed-input';
  readonly answers: Answers = { requestShape: 'malformed' };
  constructor(protected override readonly malformed: MalformedKind) {
    super();
  }
  toString() {
    return `MalformedBody(${this.malformed})`;
  }
}
