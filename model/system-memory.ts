/**
 * The system-level memory that outlives one request: which nonces were claimed and which
 * approvals were consumed. It is what makes replays, concurrent duplicates and restarts
 * meaningful in the model. A compliant system keeps it durably and linearizably, so a restart
 * leaves it unchanged (see `restart`).
 */
import type { DenialCode } from './profile/denial-codes.ts';

/** The abstract request the model reasons about: only what identifies it and its approval. */
export interface ModelRequest {
  requestId: string;
  identity: string;
  action: string;
  nonce: string;
  /** the approval id the Control Plane will issue if it allows */
  approvalId: string;
}

export interface SystemMemory {
  /** nonce keys (identity, action, nonce) accepted inside the replay window */
  readonly claimedNonces: readonly string[];
  /** approval ids already executed under */
  readonly consumedApprovals: readonly string[];
}

export const EMPTY_MEMORY: SystemMemory = { claimedNonces: [], consumedApprovals: [] };

/** Replays are scoped by identity and action: the same nonce under another identity is fresh. */
export function nonceKeyOf(request: Pick<ModelRequest, 'identity' | 'action' | 'nonce'>): string {
  return JSON.stringify([request.identity, request.action, request.nonce]);
}

export function hasClaimedNonce(memory: SystemMemory, request: ModelRequest): boolean {
  return memory.claimedNonces.includes(nonceKeyOf(request));
}

export function hasConsumedApproval(memory: SystemMemory, approvalId: string): boolean {
  return memory.consumedApprovals.includes(approvalId);
}

/** Durable stores survive a crash and restart untouched; only volatile state is lost. */
export function restart(memory: SystemMemory): SystemMemory {
  return memory;
}

/** Abstract audit record: what INV-5 demands, without hashes (the materializer adds them). */
export interface ModelAuditRecord {
  stage: 'intent' | 'final';
  decision: 'allow' | 'deny';
  /** for a denial: every code the Gate may report (check order is implementation-defined) */
  codes?: readonly DenialCode[];
  approvalId?: string;
  outcome?: 'executed' | 'failed' | 'unknown';
  /** false when the request did not parse far enough to name one */
  identityKnown: boolean;
}

/** An action that really happened at the far side of the Execution Layer. */
export interface ModelEffect {
  approvalId: string;
  requestId: string;
}

export interface Consumption {
  nonces: string[];
  approvals: string[];
}

// ---------------------------------------------------------------- memory across time (CONTRACT.md §3, §5)

/**
 * How long a compliant system must remember a claimed (identity, action, nonce): at least twice
 * the acceptance window past the later of the request's timestamp and the claim, both in unix
 * seconds of the system's clock. It may forget the claim once its clock has read this time.
 *
 * The factor 2 is what makes memory alone decide every replay that is still fresh: a replay is
 * fresh only while `now ≤ timestamp + window < until`, so a fresh replay always finds the claim —
 * even after the clock moved backwards by up to a window, and across restarts (`restart`).
 */
export const MEMORY_WINDOWS = 2;

export function nonceRememberedUntil(timestampSec: number, claimedAtSec: number, acceptanceWindowSec: number): number {
  return Math.max(timestampSec, claimedAtSec) + MEMORY_WINDOWS * acceptanceWindowSec;
}

/**
 * How long the Execution Layer must remember a consumed approval_id: at least twice the
 * acceptance window past the later of its envelope's expires_at and the consumption. Inside that,
 * a second use is ENVELOPE_REPLAYED whatever the clock did (moved forward past expires_at and back).
 */
export function approvalRememberedUntil(expiresAtSec: number, consumedAtSec: number, acceptanceWindowSec: number): number {
  return Math.max(expiresAtSec, consumedAtSec) + MEMORY_WINDOWS * acceptanceWindowSec;
}

/**
 * Whether a compliant system may already have forgotten a claim remembered until `untilSec`: its
 * clock has read `untilSec` or later since (`clockHighSec`: the highest second it may have read,
 * clock offsets included). A forgotten claim comes back into force for no one: a replay that is
 * still fresh then would find nothing, so the suite never replays such a request.
 */
export function mayHaveForgotten(untilSec: number, clockHighSec: number): boolean {
  return clockHighSec >= untilSec;
}
