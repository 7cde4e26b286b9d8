/**
 * The HTTP driver: a gate at a URL, spoken to through the contract (conformance/contract/):
 * requests to /v1/requests, the audit export at /v1/audit, and — when the gate announces them in
 * its handshake — the optional control channel and a direct route to its Execution Layer. Faults
 * on the Gate→Execution Layer link come from the harness's proxy in between.
 */
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalBytes, parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { Answer, Capability, Driver, DriverFault } from '../../conformance/driver.ts';
import type { FaultKind, FaultSpan } from '../../model/history.ts';
import type { HistoryRecorder } from '../history-recorder.ts';
import { directCallFields } from '../history-recorder.ts';
import type { FaultProxy } from '../services/fault-proxy.ts';

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
];
const PROXY_FAULTS: readonly DriverFault[] = ['execution-partition', 'execution-tamper', 'execution-unconfirmed'];

export class HarnessError extends Error {
  override name = 'HarnessError';
}

/** Reads the handshake; undefined when the gate offers no control channel. */
export async function fetchHello(gateUrl: string, timeoutMs = 5000): Promise<Hello | undefined> {
  let response: Response;
  try {
    response = await fetch(new URL('/failclosed/v1/hello', gateUrl), { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new HarnessError(`the gate at ${gateUrl} cannot be reached: ${(error as Error).message}`);
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  const value = (await response.json().catch(() => undefined)) as Hello | undefined;
  if (!value || value.protocol !== CONTROL_PROTOCOL || !Array.isArray(value.capabilities)) {
    throw new HarnessError(`GET /failclosed/v1/hello answered ${response.status} without a ${CONTROL_PROTOCOL} handshake`);
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
  /** describes the target in reports */
  target?: string;
  /** a harder crash than the control channel's restart (e.g. restarting a container) */
  crash?: () => Promise<void>;
  /** what to close with the driver (the harness services) */
  onClose?: () => Promise<void>;
}

export class HttpDriver implements Driver {
  readonly target: string;
  readonly capabilities: ReadonlySet<Capability>;
  private readonly spans = new Map<string, FaultSpan>();
  /** the primary first: control calls reach it before the replicas that depend on it */
  private readonly gates: string[];
  private next = 0;

  constructor(private readonly options: HttpDriverOptions) {
    this.gates = [options.gateUrl, ...(options.replicaUrls ?? [])];
    this.target = options.target ?? `gate at ${options.gateUrl}`;
    const declared = (options.hello?.capabilities ?? []).filter((c): c is Capability => (GATE_CAPABILITIES as readonly string[]).includes(c));
    const caps = new Set<Capability>(declared);
    if (options.executionProxy) for (const f of PROXY_FAULTS) caps.add(f);
    if (!options.hello?.execution_layer_url) caps.delete('direct-execution');
    if (options.crash) caps.add('crash-restart');
    // The audit export is part of the contract, not of the optional channel.
    caps.add('audit-export');
    this.capabilities = caps;
  }

  /** Every replica in turn, so that concurrent duplicates land on different replicas. */
  private nextGate(): string {
    const gate = this.gates[this.next % this.gates.length]!;
    this.next += 1;
    return gate;
  }

  private async control(path: string, body: JsonValue): Promise<void> {
    for (const gate of this.gates) {
      const response = await fetch(new URL(path, gate), { method: 'POST', headers: { 'content-type': 'application/json' }, body: canonicalBytes(body), signal: AbortSignal.timeout(30_000) });
      const text = await response.text();
      if (response.status !== 204 && response.status !== 200) throw new HarnessError(`POST ${path} to ${gate} answered ${response.status}: ${text.slice(0, 200)}`);
    }
  }

  async reset(): Promise<void> {
    this.spans.clear();
    await this.options.executionProxy?.setMode({ kind: 'pass' });
    if (this.capabilities.has('reset')) await this.control('/failclosed/v1/reset', {});
  }

  async submit(body: Uint8Array): Promise<Answer> {
    const op = this.options.recorder.requestSent(body);
    const answer = await this.post(new URL('/v1/requests', this.nextGate()), body);
    this.options.recorder.response(op, answer);
    return answer;
  }

  private async post(url: URL | string, body: Uint8Array): Promise<Answer> {
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 10_000) });
    } catch (error) {
      const e = error as { name?: string; cause?: { code?: string } };
      if (e.name === 'TimeoutError') return { status: 'indeterminate' };
      if (e.cause?.code === 'ECONNREFUSED') throw new HarnessError(`${String(url)} refused the connection: the system under test is down`);
      // The connection broke after the request left: it may or may not have executed.
      return { status: 'indeterminate' };
    }
    const text = await response.text();
    let value: unknown;
    try {
      value = parseStrictJson(text);
    } catch {
      return { status: 'denied', code: `(not JSON: HTTP ${response.status})` };
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

  async callExecutionLayer(call: JsonValue): Promise<Answer> {
    const elUrl = this.options.hello?.execution_layer_url;
    if (!elUrl) throw new HarnessError('the gate announced no Execution Layer URL');
    const recorded = this.options.recorder.directCall(directCallFields(call));
    const answer = await this.post(new URL('/v1/execute', elUrl), canonicalBytes(call));
    recorded.settle(answer);
    return answer;
  }


  async setFault(fault: DriverFault, active: boolean): Promise<void> {
    const proxy = this.options.executionProxy;
    if ((PROXY_FAULTS as readonly string[]).includes(fault) && proxy) {
      const mode =
        !active ? { kind: 'pass' as const }
        : fault === 'execution-partition' ? { kind: 'partition' as const }
        : fault === 'execution-tamper' ? { kind: 'tamper' as const, rewrite: tamperParameters }
        : { kind: 'reset-after-forward' as const };
      await proxy.setMode(mode);
    } else {
      await this.control('/failclosed/v1/fault', { fault, active });
    }
    this.track(fault, fault === 'execution-unconfirmed' ? 'execution-unconfirmed' : fault, active);
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
    this.track('clock', 'clock-offset', offsetMs !== 0, `${offsetMs} ms`);
  }

  async crashAndRestart(): Promise<void> {
    const span = this.options.recorder.faultStarted('crash');
    if (this.options.crash) await this.options.crash();
    else await this.control('/failclosed/v1/restart', {});
    this.options.recorder.faultHealed(span);
  }

  /** The contract's audit export flushes what waits; nothing more to wait for. */
  async settle(): Promise<void> {}

  /** One export per replica: each keeps its own chain. */
  async auditExport(): Promise<JsonValue[][]> {
    const exports: JsonValue[][] = [];
    for (const gate of this.gates) exports.push(await exportOf(gate));
    return exports;
  }

  async close(): Promise<void> {
    await this.options.onClose?.();
  }
}

async function exportOf(gate: string): Promise<JsonValue[]> {
  const url = new URL('/v1/audit', gate);
  let response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  // 503: records still wait for the audit log; give the gate a bounded moment to write them.
  for (let attempt = 0; response.status === 503 && attempt < 20; attempt++) {
    await response.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 150));
    response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  }
  const text = await response.text();
  if (!response.ok) throw new HarnessError(`GET /v1/audit of ${gate} answered ${response.status}`);
  const value = parseStrictJson(text);
  if (!Array.isArray(value)) throw new HarnessError(`GET /v1/audit of ${gate} did not answer a JSON array`);
  return value;
}

/** What a man in the middle does to an Execution Layer call: change one nested value. */
function tamperParameters(body: JsonValue): JsonValue {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const parameters = body.parameters;
  const changed: JsonValue = typeof parameters === 'object' && parameters !== null && !Array.isArray(parameters) ? { ...parameters, amount: 1_000_000 } : { tampered: parameters ?? null };
  return { ...body, parameters: changed };
}
