/** Every planted-bug control, in the order of the kill matrix. */
import { auditChainUnlinked } from './audit-chain-unlinked.ts';
import { auditDropsDenials } from './audit-drops-denials.ts';
import { canonicalKeysLocaleOrder } from './canonical-keys-locale-order.ts';
import { digestClientKeyOrder } from './digest-client-key-order.ts';
import { digestNumbersFixedNotation } from './digest-numbers-fixed-notation.ts';
import { parametersRoundedTo6Decimals } from './parameters-rounded-to-6-decimals.ts';
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
import { nonceMemorySixtySeconds } from './nonce-memory-sixty-seconds.ts';
import { clockRounded } from './clock-rounded.ts';
import { windowSlack } from './window-slack.ts';
import { windowEdgesExclusive } from './window-edges-exclusive.ts';
import { nonceJournalTailLost } from './nonce-journal-tail-lost.ts';
import { approvalsForgottenOnRestart } from './approvals-forgotten-on-restart.ts';
import { auditDropsWhenBusy } from './audit-drops-when-busy.ts';
import { executionLayerTrustsGateHeader } from './execution-layer-trusts-gate-header.ts';
import { gateTrustsInternalHeader } from './gate-trusts-internal-header.ts';
import { keyAcceptedForAnotherIdentity } from './key-accepted-for-another-identity.ts';
import { replayAnsweredFromCache } from './replay-answered-from-cache.ts';
import { replicaClaimCache } from './replica-claim-cache.ts';
import { postgresClaimReadThenInsert } from './postgres-claim-read-then-insert.ts';
import { postgresClaimInIntentTransaction } from './postgres-claim-in-intent-transaction.ts';
import { traceIdReusedForIdenticalBytes } from './trace-id-reused-for-identical-bytes.ts';
import { lateAllowExecuted } from './late-allow-executed.ts';
import { executionTimeoutAsUnavailable } from './execution-timeout-as-unavailable.ts';
import { executionRetried } from './execution-retried.ts';
import { nonceClaimedAfterPolicy } from './nonce-claimed-after-policy.ts';
import { executionAnswerTrusted } from './execution-answer-trusted.ts';
import { executionLayerFillsCallFromEnvelope } from './execution-layer-fills-call-from-envelope.ts';
import { restartLeavesRequestsRunning } from './restart-leaves-requests-running.ts';

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
  // bytes are not values; generated data (issue 10, classes 3 and 4)
  digestClientKeyOrder,
  canonicalKeysLocaleOrder,
  digestNumbersFixedNotation,
  parametersRoundedTo6Decimals,
  nonceMemorySixtySeconds,
  clockRounded,
  windowSlack,
  windowEdgesExclusive,
  nonceJournalTailLost,
  // issue 10, classes 5–7
  keyAcceptedForAnotherIdentity,
  approvalsForgottenOnRestart,
  executionLayerTrustsGateHeader,
  gateTrustsInternalHeader,
  auditDropsWhenBusy,
  traceIdReusedForIdenticalBytes,
  replayAnsweredFromCache,
  replicaClaimCache,
  postgresClaimReadThenInsert,
  postgresClaimInIntentTransaction,
  lateAllowExecuted,
  executionTimeoutAsUnavailable,
  executionRetried,
  nonceClaimedAfterPolicy,
  executionAnswerTrusted,
  executionLayerFillsCallFromEnvelope,
  restartLeavesRequestsRunning,
];
