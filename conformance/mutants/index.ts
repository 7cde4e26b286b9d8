/** Every planted-bug control, in the order of the kill matrix. */
import { auditChainUnlinked } from './audit-chain-unlinked.ts';
import { auditDropsDenials } from './audit-drops-denials.ts';
import { digestIgnoresArrayOrder } from './digest-ignores-array-order.ts';
import { digestIgnoresNestedKeys } from './digest-ignores-nested-keys.ts';
import { envelopeSignatureUnchecked } from './envelope-signature-unchecked.ts';
import { executesWithoutEnvelope } from './executes-without-envelope.ts';
import { executionLayerSkipsValidation } from './execution-layer-skips-validation.ts';
import { expiryIgnored } from './expiry-ignored.ts';
import { expiryOffByOne } from './expiry-off-by-one.ts';
import { failOpenOnControlPlaneError } from './fail-open-on-control-plane-error.ts';
import { failOpenOnControlPlaneTimeout } from './fail-open-on-control-plane-timeout.ts';
import type { Mutant } from './mutant.ts';
import { nonceCheckThenSetRace } from './nonce-check-then-set-race.ts';
import { nonceScopedWithoutIdentity } from './nonce-scoped-without-identity.ts';
import { nonceStoreDownAllows } from './nonce-store-down-allows.ts';
import { nonceStoreMemoryOnly } from './nonce-store-memory-only.ts';
import { queuedDuringPartition } from './queued-during-partition.ts';
import { revokedKeyAccepted } from './revoked-key-accepted.ts';
import { timestampWindowIgnored } from './timestamp-window-ignored.ts';
import { lateAllowExecuted } from './late-allow-executed.ts';
import { executionTimeoutAsUnavailable } from './execution-timeout-as-unavailable.ts';
import { executionRetried } from './execution-retried.ts';
import { nonceClaimedAfterPolicy } from './nonce-claimed-after-policy.ts';

export type { Mutant } from './mutant.ts';

export const MUTANTS: Mutant[] = [
  executesWithoutEnvelope,
  failOpenOnControlPlaneTimeout,
  failOpenOnControlPlaneError,
  envelopeSignatureUnchecked,
  expiryIgnored,
  expiryOffByOne,
  digestIgnoresNestedKeys,
  digestIgnoresArrayOrder,
  nonceCheckThenSetRace,
  nonceStoreMemoryOnly,
  nonceStoreDownAllows,
  nonceScopedWithoutIdentity,
  executionLayerSkipsValidation,
  queuedDuringPartition,
  auditDropsDenials,
  auditChainUnlinked,
  revokedKeyAccepted,
  timestampWindowIgnored,
  lateAllowExecuted,
  executionTimeoutAsUnavailable,
  executionRetried,
  nonceClaimedAfterPolicy,
];
