/**
 * The reference Gate: the only ingress for anything that can execute. One pass, in the order of
 * the spec, denying on any doubt:
 *
 *   size → strict JSON → fields → key & signature ∥ timestamp → nonce claim → Control Plane (with
 *   a deadline) → envelope signature, window, binding → intent audit record → dispatch (no retry,
 *   no queue) → final audit record → answer.
 *
 * Every request — malformed ones included — ends with exactly one final audit record whose code
 * matches the answer. The Gate reports "executed" only when the Execution Layer confirmed it.
 */
import { randomUUID } from 'node:crypto';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import { isDenialCode } from '../../model/profile/denial-codes.ts';
import type { Digest } from '../../model/profile/digest.ts';
import { digestJson, sha256Digest } from '../../model/profile/digest.ts';
import type { ApprovalEnvelope, ClientRequest, GatewayEvent, IdentityKey, PolicyQuestion, TrustedKey } from '../../model/profile/messages.ts';
import { DEFAULT_ACCEPTANCE_WINDOW_SEC, validateRequest } from '../../model/profile/messages.ts';
import { authenticateRequest, checkEnvelope, nonceKey } from '../../model/profile/request-checks.ts';
import type { AuditEntry, AuditLog } from '../audit/audit-log.ts';
import type { AuditSpool } from '../audit/audit-spool.ts';
import { MemoryAuditSpool } from '../audit/audit-spool.ts';
import type { Clock } from '../clock.ts';
import { nowSec, systemClock } from '../clock.ts';
import type { ClaimStore } from '../stores/claim-store.ts';
import { ClaimStoreError } from '../stores/claim-store.ts';
import type { ControlPlaneLink, ExecutionLink } from './links.ts';
import { LinkError } from './links.ts';

export interface GateSettings {
  acceptanceWindowSec: number;
  /** ≥ acceptanceWindowSec: how long a claimed nonce is remembered */
  replayWindowSec: number;
  maxBodyBytes: number;
  maxJsonDepth: number;
  controlPlaneDeadlineMs: number;
  nonceStoreDeadlineMs: number;
  executionDeadlineMs: number;
}

export const DEFAULT_GATE_SETTINGS: GateSettings = {
  acceptanceWindowSec: DEFAULT_ACCEPTANCE_WINDOW_SEC,
  replayWindowSec: 2 * DEFAULT_ACCEPTANCE_WINDOW_SEC,
  maxBodyBytes: 64 * 1024,
  maxJsonDepth: 32,
  controlPlaneDeadlineMs: 2000,
  nonceStoreDeadlineMs: 2000,
  executionDeadlineMs: 5000,
};

export interface GateDependencies {
  settings?: Partial<GateSettings>;
  clock?: Clock;
  /** the identity key registry as it is now (re-read on every request, so revocation is immediate) */
  identityKeys: () => readonly IdentityKey[];
  /** Control Plane keys trusted for envelopes */
  trustedKeys: () => readonly TrustedKey[];
  nonces: ClaimStore;
  audit: AuditLog;
  /** durable holding area for final records the audit log refused (default: memory, lost on a crash) */
  spool?: AuditSpool;
  controlPlane: ControlPlaneLink;
  executionLayer: ExecutionLink;
  onEvent?: (event: GatewayEvent) => void;
}

/** What the Gate answers a client. */
export interface GateAnswer {
  status: 'executed' | 'denied';
  code?: DenialCode;
  trace_id: string;
  request_id?: string;
  effect_id?: string;
}

/**
 * What the transport knew of a request besides its bytes. The reference decides on the bytes
 * alone: no header, source address or other out-of-band claim changes a decision (CONTRACT.md
 * section 3), so it passes this on to nothing. Planted-bug variants read it.
 */
export interface RequestContext {
  /** the request's HTTP headers, names in lower case */
  headers?: Readonly<Record<string, string>>;
}

/** Thrown inside the pipeline (or a subclass's step) to stop it with a denial. */
export class Denial extends Error {
  constructor(
    readonly code: DenialCode,
    reason: string,
  ) {
    super(reason);
  }
}

/** What the Gate knows about the request so far, for its audit records. */
export interface Attribution {
  identity: string;
  request_hash: Digest;
  trace_id: string;
  data_hash: Digest;
  request_id?: string;
  action?: string;
}

const EMPTY_DATA_HASH = sha256Digest('');
const AUDIT_RETRY_MS = 100;

export class Gate {
  readonly settings: GateSettings;
  protected readonly clock: Clock;
  /** Final records that could not be written yet: flushed before anything else is appended. */
  private readonly spool: AuditSpool;

  constructor(protected readonly deps: GateDependencies) {
    this.settings = { ...DEFAULT_GATE_SETTINGS, ...deps.settings };
    if (this.settings.replayWindowSec < this.settings.acceptanceWindowSec) {
      throw new Error('replayWindowSec must be at least acceptanceWindowSec');
    }
    this.clock = deps.clock ?? systemClock;
    this.spool = deps.spool ?? new MemoryAuditSpool();
    // Records spooled before a crash go out as soon as the log takes them.
    if (this.spool.size > 0) void this.settle();
  }

  /** Requests being handled: a halted Gate lets them end (denied at their next stage) before its stores close. */
  private readonly running = new Set<Promise<GateAnswer>>();

  handle(body: Uint8Array, context: RequestContext = {}): Promise<GateAnswer> {
    const run = this.process(body, context);
    this.running.add(run);
    void run.finally(() => this.running.delete(run)).catch(() => undefined);
    return run;
  }

  /**
   * Waits (bounded) until every request this Gate was handling has ended. After `halt` each ends at
   * its next stage, so nothing of a crashed generation acts after the restart: no claim, no
   * question to the Control Plane, no dispatch (CONTRACT.md section 9, restart).
   */
  async drain(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled([...this.running]), limit]);
    clearTimeout(timer);
  }

  /** A halted Gate takes no further step for a request it was handling. */
  private stillRunning(code: DenialCode): void {
    if (this.halted) throw new Denial(code, 'the Gate was halted (crash or restart)');
  }

  private async process(body: Uint8Array, _context: RequestContext): Promise<GateAnswer> {
    const who: Attribution = {
      identity: 'unknown',
      request_hash: sha256Digest(body),
      trace_id: this.newTraceId(body),
      data_hash: EMPTY_DATA_HASH,
    };
    let approvalId: string | undefined;
    let dispatched = false;
    // If something unexpected throws, deny with the code of the step that was running.
    let failClosed: DenialCode = 'REQUEST_MALFORMED';
    try {
      const request = this.readBody(body, who);
      failClosed = 'SIGNATURE_INVALID';
      this.authenticate(request);
      failClosed = 'NONCE_STORE_UNAVAILABLE';
      this.stillRunning(failClosed);
      await this.claimNonce(request);
      failClosed = 'CONTROL_PLANE_UNAVAILABLE';
      this.stillRunning(failClosed);
      const envelope = await this.askControlPlane(request);
      approvalId = envelope.approval_id;
      failClosed = 'AUDIT_UNAVAILABLE';
      this.stillRunning(failClosed);
      await this.writeIntent(who, envelope);
      // From the intent on, a denial closes the dispatch: nothing sent is EXECUTION_UNAVAILABLE, outcome failed.
      dispatched = true;
      this.stillRunning('EXECUTION_UNAVAILABLE');
      failClosed = 'EXECUTION_UNCONFIRMED';
      const effectId = await this.dispatch(request, envelope);
      await this.writeFinal({ ...who, decision: 'allow', stage: 'final', approval_id: envelope.approval_id, outcome: 'executed' });
      this.emit(who, 'completed');
      return { status: 'executed', trace_id: who.trace_id, effect_id: effectId, ...(who.request_id ? { request_id: who.request_id } : {}) };
    } catch (error) {
      const code = error instanceof Denial ? error.code : failClosed;
      return this.deny(who, code, dispatched ? approvalId : undefined);
    }
  }

  /** A body not read whole (over the size limit, or aborted), known only by the hash of its bytes: denied and audited all the same. */
  async refuseUnread(requestHash: Digest): Promise<GateAnswer> {
    return this.deny({ identity: 'unknown', request_hash: requestHash, trace_id: `trace-${randomUUID()}`, data_hash: EMPTY_DATA_HASH }, 'REQUEST_MALFORMED', undefined);
  }

  /** A fresh trace id for every HTTP request received — identical bytes sent twice get two. */
  protected newTraceId(_body: Uint8Array): string {
    return `trace-${randomUUID()}`;
  }

  /**
   * Headers the Gate puts on its Execution Layer calls besides the content type: none. Whatever
   * it sent, the Execution Layer re-validates every call (CONTRACT.md section 5).
   */
  protected executionHeaders(): Readonly<Record<string, string>> | undefined {
    return undefined;
  }

  private async deny(who: Attribution, code: DenialCode, dispatchedApproval: string | undefined): Promise<GateAnswer> {
    const outcome = code === 'EXECUTION_UNCONFIRMED' ? 'unknown' : 'failed';
    await this.writeFinal({
      ...who,
      decision: 'deny',
      stage: 'final',
      code,
      ...(dispatchedApproval ? { approval_id: dispatchedApproval, outcome } : {}),
    });
    this.emit(who, 'failed', code);
    return { status: 'denied', code, trace_id: who.trace_id, ...(who.request_id ? { request_id: who.request_id } : {}) };
  }

  // ------------------------------------------------------------------ the steps

  protected readBody(body: Uint8Array, who: Attribution): ClientRequest {
    if (body.length > this.settings.maxBodyBytes) throw new Denial('REQUEST_MALFORMED', `body of ${body.length} bytes is over the limit`);
    let value: JsonValue;
    try {
      value = parseStrictJson(body, { maxBytes: this.settings.maxBodyBytes, maxDepth: this.settings.maxJsonDepth });
    } catch (error) {
      throw new Denial('REQUEST_MALFORMED', (error as Error).message);
    }
    const result = validateRequest(value);
    if (!result.ok) {
      // A request that is whole but for its nonce is attributable to the identity it names.
      if (result.code === 'NONCE_MALFORMED') {
        Object.assign(who, attributionOf(value as unknown as ClientRequest));
        this.emit(who, 'accepted');
      }
      throw new Denial(result.code, result.problems.map((p) => `${p.path} ${p.message}`).join('; '));
    }
    Object.assign(who, attributionOf(result.value));
    this.emit(who, 'accepted');
    return result.value;
  }

  protected authenticate(request: ClientRequest): void {
    const codes = this.authenticationFailures(request);
    if (codes[0] !== undefined) throw new Denial(codes[0], `authentication failed: ${codes.join(', ')}`);
  }

  /** Every failing check of key, signature and timestamp (empty: authentic and fresh). */
  protected authenticationFailures(request: ClientRequest): DenialCode[] {
    return authenticateRequest(request, this.deps.identityKeys(), nowSec(this.clock), this.settings.acceptanceWindowSec);
  }

  /** Every failing check of an envelope against the request it must bind (empty: valid). */
  protected envelopeFailures(envelope: unknown, request: ClientRequest): DenialCode[] {
    return checkEnvelope(envelope, request, this.deps.trustedKeys(), nowSec(this.clock));
  }

  protected nonceKeyOf(request: ClientRequest): string {
    return nonceKey(request.identity, request.action, request.nonce);
  }

  protected async claimNonce(request: ClientRequest): Promise<void> {
    const key = this.nonceKeyOf(request);
    // Remember the nonce for as long as any copy of the request could still be fresh.
    const expiresAtMs = (Math.max(request.timestamp, nowSec(this.clock)) + this.settings.replayWindowSec) * 1000;
    let result;
    try {
      result = await withDeadline(this.deps.nonces.claim(key, expiresAtMs), this.settings.nonceStoreDeadlineMs);
    } catch (error) {
      if (error instanceof ClaimStoreError && error.kind === 'unconfirmed') throw new Denial('NONCE_WRITE_UNCONFIRMED', error.message);
      throw new Denial('NONCE_STORE_UNAVAILABLE', (error as Error).message);
    }
    if (result === 'duplicate') throw new Denial('REPLAY_DETECTED', 'nonce already accepted');
  }

  protected async askControlPlane(request: ClientRequest): Promise<ApprovalEnvelope> {
    const question: PolicyQuestion = {
      request_id: request.request_id,
      identity: request.identity,
      action: request.action,
      parameters: request.parameters,
      parameters_digest: digestJson(request.parameters),
    };
    let raw: Uint8Array | JsonValue;
    try {
      raw = await withDeadlineSignal(this.settings.controlPlaneDeadlineMs, this.generation.signal, (signal) => this.deps.controlPlane.ask(question, signal));
    } catch (error) {
      if (error instanceof LinkError && error.kind === 'timeout') throw new Denial('CONTROL_PLANE_TIMEOUT', error.message);
      if (error instanceof LinkError && error.kind === 'malformed') throw new Denial('CONTROL_PLANE_MALFORMED', error.message);
      throw new Denial('CONTROL_PLANE_UNAVAILABLE', (error as Error).message);
    }
    let answer: JsonValue;
    try {
      answer = raw instanceof Uint8Array ? parseStrictJson(raw) : raw;
    } catch (error) {
      throw new Denial('CONTROL_PLANE_MALFORMED', `answer is not strict JSON: ${(error as Error).message}`);
    }
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) throw new Denial('CONTROL_PLANE_MALFORMED', 'answer is not an object');
    if (answer.decision === 'deny') throw new Denial('POLICY_DENIED', 'the Control Plane denied');
    if (answer.decision !== 'allow') throw new Denial('CONTROL_PLANE_MALFORMED', 'answer has no decision');
    // An allow is worth only its signed envelope.
    const codes = this.envelopeFailures(answer.envelope, request);
    if (codes[0] !== undefined) throw new Denial(codes[0], `envelope refused: ${codes.join(', ')}`);
    return answer.envelope as unknown as ApprovalEnvelope;
  }

  protected async writeIntent(who: Attribution, envelope: ApprovalEnvelope): Promise<void> {
    try {
      await this.flushPending();
      await this.deps.audit.append({ ...who, decision: 'allow', stage: 'intent', approval_id: envelope.approval_id });
    } catch (error) {
      throw new Denial('AUDIT_UNAVAILABLE', `intent record not written: ${(error as Error).message}`);
    }
  }

  protected async dispatch(request: ClientRequest, envelope: ApprovalEnvelope): Promise<string> {
    let raw: Uint8Array | JsonValue;
    try {
      raw = await withDeadlineSignal(this.settings.executionDeadlineMs, this.generation.signal, (signal) =>
        this.deps.executionLayer.execute(
          { envelope: envelope as unknown as JsonValue, request_id: request.request_id, identity: request.identity, action: request.action, parameters: request.parameters },
          signal,
          this.executionHeaders(),
        ),
      );
    } catch (error) {
      // Refused before it arrived: nothing ran. Anything else: it may have run; never claim it did.
      if (error instanceof LinkError && error.kind === 'unreachable') throw new Denial('EXECUTION_UNAVAILABLE', error.message);
      throw new Denial('EXECUTION_UNCONFIRMED', (error as Error).message);
    }
    let result: JsonValue;
    try {
      result = raw instanceof Uint8Array ? parseStrictJson(raw) : raw;
    } catch {
      throw new Denial('EXECUTION_UNCONFIRMED', 'the Execution Layer answer is not JSON');
    }
    if (typeof result === 'object' && result !== null && !Array.isArray(result)) {
      if (result.status === 'executed' && typeof result.effect_id === 'string') return result.effect_id;
      if (result.status === 'denied' && isDenialCode(result.code)) throw new Denial(result.code, 'the Execution Layer refused');
    }
    throw new Denial('EXECUTION_UNCONFIRMED', 'the Execution Layer answer is not a result');
  }

  /**
   * The final record must not be lost: if the log refuses it now, it goes to the durable spool, is
   * written before anything else, and is retried in the background until the log takes it.
   */
  private async writeFinal(entry: AuditEntry): Promise<void> {
    try {
      await this.flushPending();
      if (this.spool.size === 0) {
        await this.deps.audit.append(entry);
        return;
      }
    } catch {
      // the log refuses: spool it below
    }
    try {
      await this.spool.push(entry);
    } catch (error) {
      // Nowhere durable to keep it: the denial stands, the gap is reported loudly.
      process.stderr.write(`gate: audit record lost (log and spool both refused): ${(error as Error).message}\n`);
    }
    this.scheduleRetry();
  }

  private retryTimer: NodeJS.Timeout | undefined;
  private halted = false;
  /** Aborted by `halt`: the exchanges still open with the Control Plane and the Execution Layer close, as a crash closes its sockets. */
  private readonly generation = new AbortController();

  /**
   * Stops the Gate's background work, as a crash does: nothing it held in memory is written after
   * this, and the exchanges it had open close. What it spooled durably is written by the Gate that
   * starts next on the same spool.
   */
  halt(): void {
    this.halted = true;
    this.generation.abort(new Error('the Gate was halted (crash or restart)'));
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** true once halted: a crashed Gate answers nobody (its server drops the connection instead). */
  get isHalted(): boolean {
    return this.halted;
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.halted) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flushPending().catch(() => this.scheduleRetry());
    }, AUDIT_RETRY_MS);
    this.retryTimer.unref();
  }

  /** Writes what is still spooled (call before reading the audit export); true when nothing waits. */
  async settle(): Promise<boolean> {
    try {
      await this.flushPending();
    } catch {
      this.scheduleRetry();
    }
    return this.spool.size === 0;
  }

  private flushing: Promise<void> = Promise.resolve();

  /** One flusher at a time, so a spooled record is appended once (at least once across a crash). */
  private flushPending(): Promise<void> {
    const run = this.flushing.catch(() => undefined).then(async () => {
      if (this.halted) throw new Error('the Gate was halted');
      for (let head = this.spool.peek(); head !== undefined; head = this.spool.peek()) {
        await this.deps.audit.append(head);
        await this.spool.shift();
      }
    });
    this.flushing = run;
    return run;
  }

  /** Final records waiting for the audit log to come back (0 when healthy). */
  get unwrittenAuditRecords(): number {
    return this.spool.size;
  }

  private emit(who: Attribution, event: GatewayEvent['event'], code?: DenialCode): void {
    if (!this.deps.onEvent || who.request_id === undefined) return;
    this.deps.onEvent({ request_id: who.request_id, trace_id: who.trace_id, event, timestamp_ms: this.clock.nowMs(), ...(code ? { code } : {}) });
  }
}

function attributionOf(request: ClientRequest): Partial<Attribution> {
  let data_hash: Digest = EMPTY_DATA_HASH;
  try {
    data_hash = digestJson(request.parameters);
  } catch {
    // parameters without a canonical form: keep the empty-data hash
  }
  return { identity: request.identity, request_id: request.request_id, action: request.action, data_hash };
}

/**
 * Calls `call` with a signal that aborts after `ms` (as AbortSignal.timeout: reason a TimeoutError,
 * timer unref'd) or when `stop` aborts, and stops that timer once the call has settled:
 * AbortSignal.timeout's fires anyway, seconds after the answer, building a DOMException with its
 * stack for every request.
 */
function withDeadlineSignal<T>(ms: number, stop: AbortSignal, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  timer.unref();
  const stopped = () => controller.abort(stop.reason);
  if (stop.aborted) stopped();
  else stop.addEventListener('abort', stopped, { once: true });
  const done = () => {
    clearTimeout(timer);
    stop.removeEventListener('abort', stopped);
  };
  let settled: Promise<T>;
  try {
    settled = call(controller.signal);
  } catch (error) {
    done();
    throw error;
  }
  return settled.finally(done);
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
