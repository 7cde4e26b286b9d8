/**
 * A recorded history of one test run, as an outside observer sees it (Jepsen's vocabulary).
 *
 * The INV-1…INV-6 predicates read only this. The model check fills it from simulated runs, live
 * runs fill it from a real system (the harness plays the Control Plane and owns the effect sink,
 * so policy exchanges and effects are ground truth), and the offline verifier fills it from an
 * evidence kit. Everything is JSON-serialisable so that a history can be saved and re-checked.
 */
import type { DenialCode, InvariantId } from './profile/denial-codes.ts';
import type { JsonValue } from './profile/canonical-json.ts';
import type { GatewayEvent, IdentityKey, TrustedKey } from './profile/messages.ts';

/** Milliseconds on the harness's clock (unix epoch). Events are recorded in non-decreasing `at`. */
export type Millis = number;

export interface HistoryConfig {
  acceptanceWindowSec: number;
  /** ≥ acceptanceWindowSec */
  replayWindowSec: number;
}

export interface HistoryKeys {
  /** Identity keys as registered during the run, revoked ones included. */
  identityKeys: IdentityKey[];
  /** The Control Plane keys the system was configured to trust. Envelopes signed otherwise are forged. */
  controlPlaneKeys: TrustedKey[];
}

/** The harness sent a request to the Gate. `op` pairs it with its response. */
export interface RequestSent {
  kind: 'request';
  op: number;
  at: Millis;
  /** base64url (no padding) of the exact bytes sent — the authority for hashes and parsing */
  body: string;
}

/**
 * The Gate's answer to one request, or `indeterminate` when none came in time (the request may
 * or may not have executed: the effects decide).
 */
export interface GateResponse {
  kind: 'response';
  op: number;
  at: Millis;
  status: 'executed' | 'denied' | 'indeterminate';
  code?: DenialCode | string;
  /** profile gates return it with every executed/denied answer; INV-5 joins it to the audit */
  trace_id?: string;
  request_id?: string;
}

export type PolicyAnswer =
  /** An allow with an envelope (possibly forged, expired or mis-bound: the predicates check). */
  | { kind: 'allow'; envelope: JsonValue }
  /** An "allow" with no envelope at all. */
  | { kind: 'allow-unsigned' }
  | { kind: 'deny' }
  | { kind: 'garbage'; body: string }
  | { kind: 'no-answer'; reason: 'outage' | 'timeout' };

/** The Gate asked the (harness-played) Control Plane, and what it was told. */
export interface PolicyExchange {
  kind: 'policy';
  at: Millis;
  /** the question as received by the Control Plane */
  question: JsonValue;
  answer: PolicyAnswer;
}

/** Ground truth: an action really happened at the far side of the Execution Layer. */
export interface Effect {
  kind: 'effect';
  at: Millis;
  effect_id: string;
  /** what the Execution Layer executed under: the envelope it was handed (if any) */
  approval_id?: string;
  request_id?: string;
  identity: string;
  action: string;
  parameters: JsonValue;
}

/** A call made straight to the Execution Layer, bypassing the Gate (INV-6 probes). */
export interface DirectCall {
  kind: 'direct-call';
  op: number;
  at: Millis;
  /** what was presented as the envelope; absent when none */
  envelope?: JsonValue;
  /** the request id the caller claimed, if any */
  request_id?: string;
  identity: string;
  action: string;
  parameters: JsonValue;
  /** why the body sent was not a call (not an object, a field missing or of the wrong type); absent for a call */
  notACall?: string;
  status: 'executed' | 'denied' | 'indeterminate';
  code?: DenialCode | string;
}

/**
 * The Gate called its Execution Layer, as the harness saw it on the way (its proxy, or the link it
 * hands an in-process gate): one per call that reached the harness, retries included. Calls the
 * harness cannot see (a gate that bypasses the proxy, a connection refused) are not recorded.
 */
export interface ExecutionCallSeen {
  kind: 'execution-call';
  at: Millis;
  /** the approval_id of the envelope the call carries, if any */
  approval_id?: string;
  request_id?: string;
  /** when the harness delivered it: at once, after the Gate's deadline (a delayed link), or never (a partition) */
  delivery: 'now' | 'late' | 'never';
}

export type FaultKind =
  | 'control-plane-down'
  | 'control-plane-slow'
  | 'control-plane-garbage'
  | 'nonce-store-down'
  | 'nonce-store-unconfirmed'
  | 'execution-partition'
  | 'execution-tamper'
  | 'execution-unconfirmed'
  | 'execution-delayed'
  | 'audit-down'
  | 'clock-offset'
  | 'crash';

/** A nemesis was active from `at` until `until` (null: never healed during the run). */
export interface FaultSpan {
  kind: 'fault';
  at: Millis;
  until: Millis | null;
  /**
   * How many events had been recorded when it healed: events at an index below it came before the
   * heal, the rest after — an order that milliseconds alone cannot give (absent in older kits).
   */
  untilIndex?: number;
  fault: FaultKind;
  detail?: string;
}

export interface GatewayEventObserved {
  kind: 'gateway-event';
  at: Millis;
  event: GatewayEvent;
}

export type HistoryEvent =
  | RequestSent
  | GateResponse
  | PolicyExchange
  | Effect
  | DirectCall
  | FaultSpan
  | GatewayEventObserved
  | ExecutionCallSeen;

export interface History {
  config: HistoryConfig;
  keys: HistoryKeys;
  events: HistoryEvent[];
  /** The audit export read after the run, raw: INV-5 validates it. */
  audit: JsonValue[];
  /**
   * Where another log's chain begins in `audit` (replicas each keep their own chain, exported one
   * after another); index 0 always begins one. Absent: a single chain.
   */
  auditChainStarts?: number[];
  /**
   * The prev_hash each chain's first record links to, one per chain in order (the chain at 0
   * first). Absent: every chain begins at genesis (the zero digest). A run judged on a system that
   * was not reset continues the chain of the run before it.
   */
  auditChainAnchors?: string[];
  /** false when the export could not be read at all (then INV-5 cannot hold). */
  auditExported: boolean;
}

/** One way a history breaks an invariant, with the events that witness it. */
export interface Violation {
  invariant: InvariantId;
  message: string;
  /** indexes into history.events */
  eventIndexes: number[];
  /** indexes into history.audit */
  auditIndexes?: number[];
}

export interface InvariantVerdict {
  invariant: InvariantId;
  holds: boolean;
  violations: Violation[];
  /** how many items (effects, requests, records…) the predicate examined: 0 means vacuous */
  examined: number;
}
