/**
 * The HTTP driver: a gate at a URL, spoken to through the contract (conformance/contract/):
 * requests to /v1/requests, the audit export at /v1/audit, and — when the gate announces them in
 * its handshake — the optional control channel and a direct route to its Execution Layer. Faults
 * on the Gate→Execution Layer link come from the gate when it declares them, else from the
 * harness's proxy in between — once a healthy request's call was seen to pass it (CONTRACT.md
 * section 5, "Who provides the execution-* faults").
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalBytes, parseStrictJson } from '../../model/profile/canonical-json.ts';
import { sha256Digest } from '../../model/profile/digest.ts';
import type { Answer, Capability, CapturedExecutionCall, DirectCallOptions, Driver, DriverFault, FaultOptions, LostConfirmationForm, SubmitOptions } from '../../conformance/driver.ts';
import { CapabilityMissing } from '../../conformance/driver.ts';
import { concreteRequest } from '../../model/concrete-scenario.ts';
import { changeDeepLeaf } from '../../model/deep-leaf.ts';
import type { ScriptedControlPlane } from '../control-plane/scripted-control-plane.ts';
import type { FaultKind, FaultSpan } from '../../model/history.ts';
import type { HistoryRecorder } from '../history-recorder.ts';
import { directCallFields } from '../history-recorder.ts';
import type { FaultProxy, ProxyMode } from '../services/fault-proxy.ts';
import { replacedAnswer } from '../lost-confirmation.ts';

export const CONTROL_PROTOCOL = 'failclosed-control/1';

/** What a gate says of itself at GET /failclosed/v1/hello. */
export interface Hello {
  protocol: string;
  capabilities: string[];
  execution_layer_url?: string;
}

/** Capabilities a gate may declare itself (the proxy adds the execution-link ones). */
const GATE_CAPABILITIES: readonly Capability[] = [
  'nonce-store-down',
  'nonce-store-unconfirmed',
  'audit-down',
  'clock-offset',
  'crash-restart',
  'direct-execution',
  'audit-export',
  'reset',
  'execution-partition',
  'execution-tamper',
  'execution-unconfirmed',
  'execution-delayed',
];
const PROXY_FAULTS: readonly DriverFault[] = ['execution-partition', 'execution-tamper', 'execution-unconfirmed', 'execution-delayed'];

/**
 * The harness could not observe the system under test (it is unreachable, or a call it depends on
 * failed): the run is inconclusive, never a verdict on the gate. `message` is one line of cause,
 * `remedy` one line of what to do about it.
 */
export class HarnessError extends Error {
  override name = 'HarnessError';
  readonly remedy: string;
  constructor(message: string, remedy = 'check that the system under test is running and reachable from the harness, then run again', options?: { cause?: unknown }) {
    super(message, options);
    this.remedy = remedy;
  }
}

/** How long the harness waits for a control-channel call (a restart included). */
export const CONTROL_TIMEOUT_MS = 30_000;

/** A failed network exchange, in words: "the connection was refused (ECONNREFUSED)", … */
export function networkFailure(error: unknown): string {
  const e = error as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'no answer in time';
  const code = e.cause?.code ?? e.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'the connection was refused (ECONNREFUSED)';
    case 'ECONNRESET':
      return 'the connection was reset (ECONNRESET)';
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return `the connection was closed before an answer came (${code})`;
    default:
      return `${e.cause?.message ?? e.message ?? String(error)}${code ? ` (${code})` : ''}`;
  }
}

const CONTROL_REMEDY = 'the gate must answer every control-channel call it declared with 204 (CONTRACT.md section 9): look at its log for what happened on that call';

/** Reads the handshake; undefined when the gate offers no control channel. */
export async function fetchHello(gateUrl: string, timeoutMs = 5000): Promise<Hello | undefined> {
  let response: Response;
  try {
    response = await fetch(new URL('/failclosed/v1/hello', gateUrl), { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new HarnessError(`the gate at ${gateUrl} cannot be reached: ${networkFailure(error)}`, 'start the gate (or fix --target) and check that it answers GET /healthz', { cause: error });
  }
  if (response.status === 404) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  const value = (await response.json().catch(() => undefined)) as Hello | undefined;
  if (!value || value.protocol !== CONTROL_PROTOCOL || !Array.isArray(value.capabilities)) {
    throw new HarnessError(
      `GET /failclosed/v1/hello of ${gateUrl} answered ${response.status} without a ${CONTROL_PROTOCOL} handshake`,
      'answer the handshake as CONTRACT.md section 9 says, or 404 when the gate offers no control channel',
    );
  }
  return value;
}

export interface HttpDriverOptions {
  gateUrl: string;
  /** more replicas of the same gate, sharing its stores: requests are spread over all of them */
  replicaUrls?: string[];
  recorder: HistoryRecorder;
  hello: Hello | undefined;
  /** the harness's proxy in front of the gate's Execution Layer, if the gate was configured to use it */
  executionProxy?: FaultProxy;
  /** how long to wait for an answer before it is indeterminate */
  requestTimeoutMs?: number;
  /** how long to wait for a control-channel call (default CONTROL_TIMEOUT_MS) */
  controlTimeoutMs?: number;
  /** describes the target in reports */
  target?: string;
  /**
   * the Control Plane the harness plays: with it, the driver checks — one healthy request, before
   * the first run — that the gate's Execution Layer calls really pass the proxy
   */
  controlPlane?: ScriptedControlPlane;
  /** a harder crash than the control channel's restart (e.g. restarting a container); `replica`: that one alone */
  crash?: (replica?: number) => Promise<void>;
  /**
   * where to send bypass probes when the handshake announces no Execution Layer: for a gate the
   * harness started itself, the address it told the gate to listen on
   */
  directExecutionUrl?: string;
  /** what to close with the driver (the harness services) */
  onClose?: () => Promise<void>;
  /**
   * Faults the harness plays itself, outside the gate, on the gate's real links (the TCP proxies
   * between the reference's replicas and its database): played instead of the gate's own faults of
   * the same name, so the suite judges the real failure, not a simulation of it.
   */
  harnessFaults?: Partial<Record<DriverFault, (active: boolean) => Promise<void>>>;
}

/**
 * Whether the harness's proxy is on the gate's path to its Execution Layer: `unchecked` until a
 * healthy request executed, then `through-proxy` if its call passed the proxy, else
 * `bypasses-proxy` (the gate does not honour FAILCLOSED_EXECUTION_LAYER_URL).
 */
export type ProxyRoute = 'unchecked' | 'through-proxy' | 'bypasses-proxy';

export class HttpDriver implements Driver {
  readonly target: string;
  private readonly spans = new Map<string, FaultSpan>();
  /** the primary first: control calls reach it before the replicas that depend on it */
  private readonly gates: string[];
  private next = 0;
  /** what the gate offers itself (its handshake), plus what the harness adds regardless of the proxy */
  private readonly own: ReadonlySet<Capability>;
  private offered: ReadonlySet<Capability>;
  private route: ProxyRoute = 'unchecked';
  private routeProbed = false;
  /** requests started so far and in flight: a route is judged only from a request that ran alone */
  private started = 0;
  private inFlight = 0;

  constructor(private readonly options: HttpDriverOptions) {
    this.gates = [options.gateUrl, ...(options.replicaUrls ?? [])];
    this.target = options.target ?? `gate at ${options.gateUrl}`;
    const declared = (options.hello?.capabilities ?? []).filter((c): c is Capability => (GATE_CAPABILITIES as readonly string[]).includes(c));
    const caps = new Set<Capability>(declared);
    if (options.directExecutionUrl) caps.add('direct-execution');
    else if (!options.hello?.execution_layer_url) caps.delete('direct-execution');
    if (options.crash) caps.add('crash-restart');
    for (const fault of Object.keys(options.harnessFaults ?? {}) as DriverFault[]) caps.add(fault);
    // The audit export is part of the contract, not of the optional channel.
    caps.add('audit-export');
    this.own = caps;
    this.offered = caps;
  }

  /**
   * What the gate offers, and the execution-* faults the proxy adds once a healthy request's call
   * was seen to pass it. A fault the gate declares itself is always the gate's own.
   */
  get capabilities(): ReadonlySet<Capability> {
    return this.offered;
  }

  /** Whether the harness's proxy is on the gate's path to its Execution Layer, as far as seen. */
  get proxyRoute(): ProxyRoute {
    return this.route;
  }

  private setRoute(route: ProxyRoute): void {
    this.route = route;
    const caps = new Set(this.own);
    // A delayed link is released by the harness's Control Plane's LateRelease: only with it at hand.
    if (route === 'through-proxy') for (const f of PROXY_FAULTS) if (f !== 'execution-delayed' || this.options.controlPlane) caps.add(f);
    this.offered = caps;
  }

  /** The proxy provides this fault: the gate does not declare it, and its calls do pass the proxy. */
  private proxyProvides(fault: DriverFault): boolean {
    return (
      (PROXY_FAULTS as readonly string[]).includes(fault) &&
      !this.own.has(fault) &&
      this.route === 'through-proxy' &&
      this.options.executionProxy !== undefined &&
      (fault !== 'execution-delayed' || this.options.controlPlane !== undefined)
    );
  }

  /** The proxy could add faults the gate lacks, but nobody has seen yet whether its calls pass it. */
  private routeUnchecked(): boolean {
    return this.options.executionProxy !== undefined && this.route === 'unchecked' && PROXY_FAULTS.some((f) => !this.own.has(f));
  }

  /**
   * One healthy request, approved by the harness's Control Plane: did its Execution Layer call pass
   * the proxy? Its records are wiped by the reset that follows, and what the harness recorded of it
   * (the policy exchange, the effect) by the run's fresh recording.
   */
  private async probeRoute(): Promise<void> {
    const proxy = this.options.executionProxy;
    const controlPlane = this.options.controlPlane;
    this.routeProbed = true;
    if (!proxy || !controlPlane) return;
    const id = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const request = concreteRequest(
      {},
      { request_id: `route-check-${id}`, action: 'payments.transfer', parameters: { to: 'bob', amount: 1 }, nonce: `route-check-${id}` },
      now,
      this.options.recorder.config.acceptanceWindowSec,
    );
    controlPlane.answer({ answers: {}, approvalId: `route-check-${id}` });
    const before = proxy.forwarded;
    let answer: Answer;
    try {
      answer = await this.post(new URL('/v1/requests', this.gates[0]!), canonicalBytes(request as JsonValue));
    } finally {
      controlPlane.answer(undefined);
    }
    if (answer.status === 'executed') this.setRoute(proxy.forwarded > before ? 'through-proxy' : 'bypasses-proxy');
  }

  /** Every replica in turn, so that concurrent duplicates land on different replicas. */
  private nextGate(): string {
    const gate = this.gates[this.next % this.gates.length]!;
    this.next += 1;
    return gate;
  }

  get replicas(): number {
    return this.gates.length;
  }

  /** The replica asked for (by index, wrapping), or the next in turn. */
  private gateFor(replica: number | undefined): string {
    return replica === undefined ? this.nextGate() : this.gates[((replica % this.gates.length) + this.gates.length) % this.gates.length]!;
  }

  /**
   * Once the harness lost its hold on the system (a control call failed), every later call fails
   * the same way at once: the run is inconclusive, and retrying against a gate in an unknown state
   * (fast-check shrinking, say) would only take time.
   */
  private broken: HarnessError | undefined;

  private guard(): void {
    if (this.broken) throw this.broken;
  }

  private fail(error: HarnessError): HarnessError {
    this.broken ??= error;
    return error;
  }

  /** A control-channel call to every gate (or those named); any failure (network, status, body) is a HarnessError. */
  private async control(path: string, body: JsonValue, gates: readonly string[] = this.gates): Promise<void> {
    this.guard();
    for (const gate of gates) {
      const what = `POST ${path} to ${gate}`;
      let response: Response;
      let text: string;
      try {
        response = await fetch(new URL(path, gate), { method: 'POST', headers: { 'content-type': 'application/json' }, body: canonicalBytes(body), signal: AbortSignal.timeout(this.options.controlTimeoutMs ?? CONTROL_TIMEOUT_MS) });
        text = await response.text();
      } catch (error) {
        throw this.fail(new HarnessError(`${what} failed: ${networkFailure(error)}`, CONTROL_REMEDY, { cause: error }));
      }
      if (response.status !== 204 && response.status !== 200) {
        throw this.fail(new HarnessError(`${what} answered HTTP ${response.status}${text ? `: ${oneLine(text)}` : ''}`, CONTROL_REMEDY));
      }
    }
  }

  async reset(): Promise<void> {
    this.guard();
    this.spans.clear();
    this.gateFaults.clear();
    this.clockOffsetMs = 0;
    await this.proxyMode({ kind: 'pass' });
    for (const heal of Object.values(this.options.harnessFaults ?? {})) await this.harnessFault(() => heal(false), 'heal');
    if (!this.own.has('reset')) return;
    await this.control('/failclosed/v1/reset', {});
    if (this.routeUnchecked() && !this.routeProbed) {
      await this.probeRoute();
      await this.control('/failclosed/v1/reset', {});
    }
  }

  async submit(body: Uint8Array, options: SubmitOptions = {}): Promise<Answer> {
    this.guard();
    const op = this.options.recorder.requestSent(body);
    const proxy = this.options.executionProxy;
    const forwardedBefore = proxy?.forwarded ?? 0;
    const startedBefore = this.started;
    this.started += 1;
    this.inFlight += 1;
    let answer: Answer;
    try {
      answer = await this.post(new URL('/v1/requests', this.gateFor(options.replica)), body, options.headers);
    } finally {
      this.inFlight -= 1;
    }
    this.options.recorder.response(op, answer);
    // A gate that cannot be reset is never probed: its first healthy request, alone, tells.
    const alone = startedBefore === this.started - 1 && this.inFlight === 0;
    if (proxy && alone && answer.status === 'executed' && this.routeUnchecked()) {
      this.setRoute(proxy.forwarded > forwardedBefore ? 'through-proxy' : 'bypasses-proxy');
    }
    return answer;
  }

  private async post(url: URL | string, body: Uint8Array, headers: Readonly<Record<string, string>> = {}): Promise<Answer> {
    const sent = await postOnFreshConnection(new URL(url), body, sendable(headers), this.options.requestTimeoutMs ?? 10_000);
    if (sent.kind === 'refused') {
      throw this.fail(new HarnessError(`${String(url)} refused the connection: the system under test is down`, 'keep the gate running for the whole run; look at its log for why it stopped', { cause: sent.error }));
    }
    // No whole answer by the deadline, or the connection broke after the request left: it may or
    // may not have executed.
    if (sent.kind !== 'answered') return { status: 'indeterminate' };
    let value: unknown;
    try {
      value = parseStrictJson(sent.text);
    } catch {
      return { status: 'denied', code: `(not JSON: HTTP ${sent.status})` };
    }
    const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    const status = v.status === 'executed' ? 'executed' : v.status === 'denied' ? 'denied' : 'indeterminate';
    return {
      status,
      ...(typeof v.code === 'string' ? { code: v.code } : {}),
      ...(typeof v.trace_id === 'string' ? { trace_id: v.trace_id } : {}),
      ...(typeof v.request_id === 'string' ? { request_id: v.request_id } : {}),
    };
  }

  async callExecutionLayer(call: JsonValue, options: DirectCallOptions = {}): Promise<Answer> {
    this.guard();
    const elUrl = this.options.directExecutionUrl ?? this.options.hello?.execution_layer_url;
    if (!elUrl) throw new HarnessError('the gate announced no Execution Layer URL');
    const recorded = this.options.recorder.directCall(directCallFields(call));
    const base = new URL(elUrl);
    const url = options.path ? new URL(`${base.pathname.replace(/\/+$/, '')}${options.path}`, base) : new URL('/v1/execute', elUrl);
    const answer = await this.post(url, canonicalBytes(call), options.headers);
    recorded.settle(answer);
    return answer;
  }

  async health(): Promise<number[]> {
    this.guard();
    const statuses: number[] = [];
    for (const gate of this.gates) {
      try {
        const response = await fetch(new URL('/healthz', gate), { signal: AbortSignal.timeout(5_000) });
        await response.body?.cancel();
        statuses.push(response.status);
      } catch {
        statuses.push(0);
      }
    }
    return statuses;
  }

  /** The Gate's last call that passed the harness's proxy, as the Gate sent it; undefined when none did (or it was not JSON). */
  lastExecutionCall(): CapturedExecutionCall | undefined {
    const seen = this.options.executionProxy?.lastRequest;
    if (!seen) return undefined;
    try {
      return { path: seen.path, headers: { ...seen.headers }, body: parseStrictJson(seen.body) };
    } catch {
      return undefined;
    }
  }

  /**
   * An upload its client abandons: the full length announced, `sentBytes` of it sent, then the
   * connection closed. Resolves once the gate had the time to notice — its audit export holds a
   * record of the bytes that arrived — or after ABORT_NOTICE_MS (INV-5 then judges the export).
   */
  async abortUpload(body: Uint8Array, sentBytes: number, options: SubmitOptions = {}): Promise<void> {
    this.guard();
    const sent = body.slice(0, Math.max(0, Math.min(sentBytes, body.length - 1)));
    const gate = this.gateFor(options.replica);
    const op = this.options.recorder.requestSent(sent);
    await new Promise<void>((resolve) => {
      const url = new URL('/v1/requests', gate);
      const req = httpRequest(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...sendable(options.headers ?? {}) } });
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(giveUp);
        req.destroy();
        resolve();
      };
      const giveUp = setTimeout(finish, ABORT_NOTICE_MS);
      req.on('error', finish);
      req.on('response', (res) => (res.resume(), finish()));
      req.flushHeaders();
      // Let the bytes leave before hanging up: the gate must see part of a body, then the end.
      req.write(sent, () => setTimeout(finish, ABORT_LINGER_MS));
    });
    this.options.recorder.response(op, { status: 'indeterminate' });
    const hash = sha256Digest(sent);
    const deadline = Date.now() + ABORT_NOTICE_MS;
    while (Date.now() < deadline) {
      const records = await exportOf(gate).catch(() => []);
      if (records.some((r) => typeof r === 'object' && r !== null && !Array.isArray(r) && r.request_hash === hash)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }


  async setFault(fault: DriverFault, active: boolean, options: FaultOptions = {}): Promise<void> {
    this.guard();
    const played = this.options.harnessFaults?.[fault];
    if (played) {
      await this.harnessFault(() => played(active), `${active ? 'start' : 'heal'} ${fault}`);
    } else if (this.proxyProvides(fault)) {
      const mode: ProxyMode =
        !active ? { kind: 'pass' as const }
        : fault === 'execution-partition' ? { kind: 'partition' as const }
        : fault === 'execution-tamper' ? { kind: 'tamper' as const, rewrite: tamperParameters }
        : fault === 'execution-delayed' ? { kind: 'late' as const, release: this.options.controlPlane!.late }
        : lostConfirmationMode(options.confirmation ?? 'reset');
      await this.proxyMode(mode);
    } else if (this.own.has(fault)) {
      await this.control('/failclosed/v1/fault', { fault, active });
      if (active) this.gateFaults.add(fault);
      else this.gateFaults.delete(fault);
    } else {
      throw new CapabilityMissing(fault);
    }
    this.track(fault, fault, active);
  }

  /** A fault the harness plays itself; if it cannot, the run is inconclusive. */
  private async harnessFault(play: () => Promise<void>, what: string): Promise<void> {
    try {
      await play();
    } catch (error) {
      throw this.fail(new HarnessError(`the harness cannot ${what} on the gate's link to its database: ${(error as Error).message}`, 'nothing the gate did; run again, and if it repeats look for a port the harness could not take back', { cause: error }));
    }
  }

  /** Switches the harness's proxy; a proxy that cannot (its port taken meanwhile) makes the run inconclusive. */
  private async proxyMode(mode: ProxyMode): Promise<void> {
    const proxy = this.options.executionProxy;
    if (!proxy) return;
    try {
      await proxy.setMode(mode);
    } catch (error) {
      throw this.fail(new HarnessError(`the harness's proxy in front of the Execution Layer cannot switch to ${mode.kind}: ${(error as Error).message}`, 'free the proxy port (--harness-port N+2) for the whole run, then run again', { cause: error }));
    }
  }

  private track(key: string, kind: FaultKind, active: boolean, detail?: string): void {
    const span = this.spans.get(key);
    if (span) {
      this.options.recorder.faultHealed(span);
      this.spans.delete(key);
    }
    if (active) this.spans.set(key, this.options.recorder.faultStarted(kind, detail));
  }

  async setClockOffset(offsetMs: number): Promise<void> {
    await this.control('/failclosed/v1/clock', { offset_ms: offsetMs });
    this.clockOffsetMs = offsetMs;
    this.track('clock', 'clock-offset', offsetMs !== 0, `${offsetMs} ms`);
  }

  /** Faults the gate itself plays that the harness left on, and the clock offset it set: its settings, not the gate's state. */
  private readonly gateFaults = new Set<DriverFault>();
  private clockOffsetMs = 0;

  /**
   * After a restart a gate may have kept the harness's faults and clock offset, or dropped them
   * (a container restart does): CONTRACT.md section 9 allows both. The harness says again what it
   * left on, before anything else reaches the gate, so both are tested alike.
   */
  private async reassert(): Promise<void> {
    for (const fault of this.gateFaults) await this.control('/failclosed/v1/fault', { fault, active: true });
    if (this.clockOffsetMs !== 0) await this.control('/failclosed/v1/clock', { offset_ms: this.clockOffsetMs });
  }

  async crashAndRestart(options: { replica?: number } = {}): Promise<void> {
    this.guard();
    const one = options.replica !== undefined && this.gates.length > 1 ? ((options.replica % this.gates.length) + this.gates.length) % this.gates.length : undefined;
    const span = this.options.recorder.faultStarted('crash', one === undefined ? undefined : `replica ${one}`);
    if (this.options.crash) {
      try {
        await this.options.crash(one);
      } catch (error) {
        throw this.fail(error instanceof HarnessError ? error : new HarnessError(`the crash and restart of the gate failed: ${(error as Error).message}`, 'check that the gate can be restarted on its data directory (its log says why not)', { cause: error }));
      }
    } else await this.control('/failclosed/v1/restart', {}, one === undefined ? undefined : [this.gates[one]!]);
    await this.reassert();
    this.options.recorder.faultHealed(span);
  }

  /** The contract's audit export flushes what waits; nothing more to wait for. */
  async settle(): Promise<void> {}

  /** One export per replica: each keeps its own chain. */
  /** A look at the clock in the records, not a judged export: a failure here is the caller's to weigh, not a lost gate. */
  async peekAuditExport(): Promise<JsonValue[][]> {
    this.guard();
    const exports: JsonValue[][] = [];
    for (const gate of this.gates) exports.push(await exportOf(gate));
    return exports;
  }

  async auditExport(): Promise<JsonValue[][]> {
    this.guard();
    const exports: JsonValue[][] = [];
    try {
      for (const gate of this.gates) exports.push(await exportOf(gate));
    } catch (error) {
      throw this.fail(error as HarnessError);
    }
    // Gateway events are a SHOULD: a gate that serves none (404, or anything but a JSON array) offers none.
    const events: JsonValue[] = [];
    for (const gate of this.gates) events.push(...(await eventsOf(gate)));
    this.options.recorder.gatewayEvents(events);
    return exports;
  }

  async close(): Promise<void> {
    try {
      await this.options.onClose?.();
    } catch (error) {
      // After a lost hold on the gate, that first failure is the one to report, not this one.
      if (this.broken) return;
      throw error instanceof HarnessError ? error : new HarnessError(`closing the harness services failed: ${(error as Error).message}`, 'nothing to do for this run; if it repeats, look for a port or process the harness left behind', { cause: error });
    }
  }
}

/**
 * A gate that cannot be reset keeps its whole log, so its export grows run after run (a standard
 * profile writes thousands of records): the export is read with room to spare, not with a request's
 * 1 MiB limit.
 */
const EXPORT_LIMITS = { maxBytes: 512 * 1024 * 1024, maxDepth: 64 };

const EXPORT_REMEDY = 'the gate must serve GET /v1/audit as a JSON array of audit records once its faults are healed (CONTRACT.md section 7)';

/** The audit export of one gate; any failure (network, status, body) is a HarnessError. */
async function exportOf(gate: string): Promise<JsonValue[]> {
  const url = new URL('/v1/audit', gate);
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(CONTROL_TIMEOUT_MS) });
    // 503: records still wait for the audit log; give the gate a bounded moment to write them.
    for (let attempt = 0; response.status === 503 && attempt < 20; attempt++) {
      await response.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 150));
      response = await fetch(url, { signal: AbortSignal.timeout(CONTROL_TIMEOUT_MS) });
    }
    text = await response.text();
  } catch (error) {
    throw new HarnessError(`GET /v1/audit of ${gate} failed: ${networkFailure(error)}`, EXPORT_REMEDY, { cause: error });
  }
  if (!response.ok) throw new HarnessError(`GET /v1/audit of ${gate} answered HTTP ${response.status}${text ? `: ${oneLine(text)}` : ''}`, EXPORT_REMEDY);
  let value: JsonValue;
  try {
    value = parseStrictJson(text, EXPORT_LIMITS);
  } catch (error) {
    throw new HarnessError(`GET /v1/audit of ${gate} did not answer strict JSON: ${(error as Error).message}`, EXPORT_REMEDY);
  }
  if (!Array.isArray(value)) throw new HarnessError(`GET /v1/audit of ${gate} did not answer a JSON array`, EXPORT_REMEDY);
  return value;
}

/** GET /v1/events of one gate: its gateway events, or none when it serves none. */
async function eventsOf(gate: string): Promise<JsonValue[]> {
  try {
    const response = await fetch(new URL('/v1/events', gate), { signal: AbortSignal.timeout(CONTROL_TIMEOUT_MS) });
    const text = await response.text();
    if (!response.ok) return [];
    const value = parseStrictJson(text, EXPORT_LIMITS);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

/** How long an abandoned upload stays open after its bytes left, and how long the gate has to audit it. */
const ABORT_LINGER_MS = 30;
const ABORT_NOTICE_MS = 3_000;

/** Headers fetch lets a client set: those the transport owns per hop are left out. */
const NOT_SENDABLE = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'proxy-connection']);
type Posted =
  | { kind: 'answered'; status: number; text: string }
  | { kind: 'refused'; error: Error }
  | { kind: 'timeout' }
  | { kind: 'broken'; error: Error };

/**
 * One POST on a connection of its own (no keep-alive). A request sent on a kept-alive connection
 * that the server is closing at that moment breaks before the server reads it — and the harness
 * would then hold the gate to auditing a request it never received (INV-5), a false alarm seen
 * under load. On a fresh connection a break after connecting is the gate's own doing.
 */
function postOnFreshConnection(url: URL, body: Uint8Array, headers: Record<string, string>, timeoutMs: number): Promise<Posted> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: Posted) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => settle({ kind: 'answered', status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (error) => settle({ kind: 'broken', error }));
      res.on('aborted', () => settle({ kind: 'broken', error: new Error('the answer broke off') }));
    });
    const timer = setTimeout(() => {
      settle({ kind: 'timeout' });
      req.destroy();
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => settle(error.code === 'ECONNREFUSED' ? { kind: 'refused', error } : { kind: 'broken', error }));
    req.end(body);
  });
}

function sendable(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !NOT_SENDABLE.has(name.toLowerCase())));
}

/** The start of a body, on one line, for a message. */
function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 160 ? `${line.slice(0, 160)}…` : line;
}

/** What a man in the middle does to an Execution Layer call: change one deep leaf of its parameters. */
function tamperParameters(body: JsonValue): JsonValue {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  return { ...body, parameters: changeDeepLeaf(body.parameters ?? null) };
}

/** The proxy's mode for execution-unconfirmed in a given form: the call runs, its answer is lost. */
function lostConfirmationMode(form: LostConfirmationForm): ProxyMode {
  return form === 'reset' ? { kind: 'reset-after-forward' } : { kind: 'replace-after-forward', replace: (real) => replacedAnswer(form, real) };
}
