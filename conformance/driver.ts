/**
 * The one driver interface: everything the suite needs from a system under test, and nothing
 * more. The suite is written once against it; drivers (harness/drivers/) reach the reference
 * in-process, a gate at a URL, or a container.
 *
 * The harness always plays the Control Plane (its answers, signed with its own trusted key or
 * forged ones) and always owns the effect sink (ground truth of what really executed), so those
 * are given to a driver, not asked of it. What a system cannot offer it leaves out of
 * `capabilities`; the scenarios that need it are reported as not tested — never passed.
 */
import type { JsonValue } from '../model/profile/canonical-json.ts';

/** Faults a driver can switch on and off inside the system under test. */
export const DRIVER_FAULTS = [
  'nonce-store-down',
  'nonce-store-unconfirmed',
  'audit-down',
  'execution-partition',
  'execution-tamper',
  'execution-unconfirmed',
  'execution-delayed',
] as const;
export type DriverFault = (typeof DRIVER_FAULTS)[number];

/**
 * How `execution-unconfirmed` loses the Execution Layer's answer where the harness plays it (its
 * proxy, the in-process link) — the call always runs first (CONTRACT.md section 5, *What the Gate
 * makes of the answer*); every form MUST be answered EXECUTION_UNCONFIRMED:
 *   reset        the connection is reset instead of answered
 *   garbage      200, an HTML error page labelled application/json
 *   status-5xx   502 whose body is the Execution Layer's real `executed` result (only a 200 is a result)
 *   incomplete   200, the real result without its effect_id
 * In-process, where there is no status line, status-5xx is played as garbage.
 */
export const LOST_CONFIRMATION_FORMS = ['reset', 'garbage', 'status-5xx', 'incomplete'] as const;
export type LostConfirmationForm = (typeof LOST_CONFIRMATION_FORMS)[number];

export interface FaultOptions {
  /** for execution-unconfirmed: how the answer is lost (default reset) */
  confirmation?: LostConfirmationForm;
}

export type Capability =
  | DriverFault
  /** shift the system's clock */
  | 'clock-offset'
  /** kill the system hard and start it again on its durable state */
  | 'crash-restart'
  /** call the Execution Layer directly, bypassing the Gate */
  | 'direct-execution'
  /** read the audit export */
  | 'audit-export'
  /** start again from empty stores and audit log (needed for more than one run) */
  | 'reset';

/** What the system answered a client, or `indeterminate` when no answer came in time. */
export interface Answer {
  status: 'executed' | 'denied' | 'indeterminate';
  code?: string;
  trace_id?: string;
  request_id?: string;
}

/** How a request reaches the Gate, besides its bytes. */
export interface SubmitOptions {
  /** extra HTTP headers (names in lower case): none may change the Gate's decision */
  headers?: Readonly<Record<string, string>>;
  /** which replica receives it (index into the gates, the primary first); default: each in turn */
  replica?: number;
}

/** How a direct call reaches the Execution Layer, besides its body. */
export interface DirectCallOptions {
  /** extra HTTP headers (names in lower case), e.g. the very ones the Gate's own calls carry */
  headers?: Readonly<Record<string, string>>;
  /** the path the Gate's own calls use (default /v1/execute) */
  path?: string;
}

/** A call the Gate made to its Execution Layer, as it passed the harness (its proxy, or the in-process link). */
export interface CapturedExecutionCall {
  path: string;
  /** end-to-end headers, names in lower case (no host, content-length or hop-by-hop ones) */
  headers: Record<string, string>;
  body: JsonValue;
}

export interface Driver {
  /** what is under test, for reports (e.g. "reference (in-process)", an image digest) */
  readonly target: string;
  readonly capabilities: ReadonlySet<Capability>;
  /** a fresh system: empty stores, empty audit log, no faults, no clock offset (a driver without
   *  'reset' does nothing here, and only the first run can be judged) */
  reset(): Promise<void>;
  /** sends request bytes to the Gate */
  submit(body: Uint8Array, options?: SubmitOptions): Promise<Answer>;
  /** calls the Execution Layer directly (needs 'direct-execution') */
  callExecutionLayer(call: JsonValue, options?: DirectCallOptions): Promise<Answer>;
  /**
   * Starts an upload of `body` (its full length announced), sends its first `sentBytes` bytes and
   * hangs up; resolves once the client is gone. The request is recorded with the bytes sent and
   * an indeterminate answer. Absent: the driver cannot abort an upload.
   */
  abortUpload?(body: Uint8Array, sentBytes: number, options?: SubmitOptions): Promise<void>;
  /** the Gate's last call to its Execution Layer that the harness saw; undefined when it saw none */
  lastExecutionCall?(): CapturedExecutionCall | undefined;
  /** GET /healthz of every replica: the HTTP status each answered (0: no answer). Absent: no health endpoint to reach */
  health?(): Promise<number[]>;
  /** how many replicas of the gate requests are spread over (absent: one) */
  readonly replicas?: number;
  /** `options`: how a fault the harness plays looks (a driver that cannot vary it plays the default) */
  setFault(fault: DriverFault, active: boolean, options?: FaultOptions): Promise<void>;
  /** the system's clock runs `offsetMs` ahead of the harness's (needs 'clock-offset') */
  setClockOffset(offsetMs: number): Promise<void>;
  /** hard kill and restart on the same durable state (needs 'crash-restart'); `replica`: that one alone */
  crashAndRestart(options?: { replica?: number }): Promise<void>;
  /** waits until the system has finished what it started (records waiting to be written, …) */
  settle(): Promise<void>;
  /** the audit exports, raw, one per audit log the system keeps (replicas keep one each) (needs 'audit-export') */
  auditExport(): Promise<JsonValue[][]>;
  /**
   * The same exports, read without recording anything in the run's history: for the harness to
   * see the system's clock in its records' timestamp_ms (time edges, CONTRACT.md section 3).
   */
  peekAuditExport?(): Promise<JsonValue[][]>;
  /** true when the system reads the harness's own clock (plus the offset set): in-process */
  readonly sharesHarnessClock?: boolean;
  close(): Promise<void>;
}

export class CapabilityMissing extends Error {
  constructor(readonly capability: Capability) {
    super(`the system under test does not offer "${capability}"`);
    this.name = 'CapabilityMissing';
  }
}
