/**
 * Records one run as a History (model/history.ts): every request sent and its answer, every
 * Control Plane exchange, every effect, direct call and fault span, on the harness's clock.
 */
import { ID_PATTERN, NAME_PATTERN } from '../model/profile/messages.ts';
import type { DirectCall, ExecutionCallSeen, FaultKind, FaultSpan, GateResponse, GatewayEventObserved, History, HistoryConfig, HistoryEvent, HistoryKeys, PolicyAnswer } from '../model/history.ts';
import type { JsonValue } from '../model/profile/canonical-json.ts';
import { ZERO_DIGEST } from '../model/profile/digest.ts';
import { toBase64Url } from '../model/profile/encoding.ts';
import type { EffectRecord } from '../reference-impl/execution-layer/effect-sink.ts';
import type { Answer } from '../conformance/driver.ts';

/** What a direct call to the Execution Layer presents, as the history records it. */
export function directCallFields(call: JsonValue): Omit<DirectCall, 'kind' | 'op' | 'at' | 'status' | 'code'> {
  const c = (typeof call === 'object' && call !== null && !Array.isArray(call) ? call : {}) as Record<string, JsonValue>;
  const notACall = notACallBecause(call);
  return {
    ...(c.envelope !== undefined ? { envelope: c.envelope } : {}),
    ...(typeof c.request_id === 'string' ? { request_id: c.request_id } : {}),
    identity: String(c.identity ?? ''),
    action: String(c.action ?? ''),
    parameters: c.parameters ?? null,
    ...(notACall ? { notACall } : {}),
  };
}

/** Why a body is not an execution call (CONTRACT.md section 5: it is REQUEST_MALFORMED), or undefined. */
export function notACallBecause(call: JsonValue): string | undefined {
  if (typeof call !== 'object' || call === null || Array.isArray(call)) return 'not an object';
  if (typeof call.request_id !== 'string' || !ID_PATTERN.test(call.request_id)) return 'request_id missing or malformed';
  if (typeof call.identity !== 'string' || !NAME_PATTERN.test(call.identity)) return 'identity missing or malformed';
  if (typeof call.action !== 'string' || !NAME_PATTERN.test(call.action)) return 'action missing or malformed';
  if (!Object.hasOwn(call, 'parameters')) return 'parameters missing';
  return undefined;
}

export class HistoryRecorder {
  events: HistoryEvent[] = [];
  /** the gateway events last read from the system (GET /v1/events): the end of the built history */
  private served: GatewayEventObserved[] = [];
  private nextOp = 1;
  private last = 0;

  constructor(
    readonly config: HistoryConfig,
    readonly keys: HistoryKeys,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Events are kept in non-decreasing time even if the wall clock steps back. */
  now(): number {
    this.last = Math.max(this.last, this.clock());
    return this.last;
  }

  reset(): void {
    this.events = [];
    this.served = [];
    this.nextOp = 1;
  }

  requestSent(body: Uint8Array): number {
    const op = this.nextOp++;
    this.events.push({ kind: 'request', op, at: this.now(), body: toBase64Url(body) });
    return op;
  }

  response(op: number, answer: Answer): void {
    const event: GateResponse = { kind: 'response', op, at: this.now(), status: answer.status };
    if (answer.code !== undefined) event.code = answer.code;
    if (answer.trace_id !== undefined) event.trace_id = answer.trace_id;
    if (answer.request_id !== undefined) event.request_id = answer.request_id;
    this.events.push(event);
  }

  policy(question: JsonValue, answer: PolicyAnswer): void {
    this.events.push({ kind: 'policy', at: this.now(), question, answer });
  }

  effect(effect: EffectRecord): void {
    const { effect_id, approval_id, request_id, identity, action, parameters } = effect;
    this.events.push({ kind: 'effect', at: this.now(), effect_id, approval_id, request_id, identity, action, parameters });
  }

  /**
   * Records a call to the Execution Layer when it is made — before any effect it causes — with an
   * indeterminate outcome; `settle` fills in what it answered.
   */
  directCall(call: Omit<DirectCall, 'kind' | 'op' | 'at' | 'status' | 'code'>): { settle(answer: { status: DirectCall['status']; code?: string }): void } {
    const event: DirectCall = { kind: 'direct-call', op: this.nextOp++, at: this.now(), ...call, status: 'indeterminate' };
    this.events.push(event);
    return {
      settle(answer) {
        event.status = answer.status;
        if (answer.code !== undefined) event.code = answer.code;
      },
    };
  }

  /** The Gate called its Execution Layer, as the harness's proxy or link saw it (retries included). */
  executionCall(call: Omit<ExecutionCallSeen, 'kind' | 'at'>): void {
    this.events.push({ kind: 'execution-call', at: this.now(), ...call });
  }

  /**
   * The gateway events the system served (GET /v1/events), read with the audit export: they replace
   * any read before in this run, so reading twice records them once.
   */
  gatewayEvents(events: readonly JsonValue[]): void {
    // Kept apart and added at the end when the history is built: recorded events keep their
    // indexes (a heal's untilIndex counts them), however often the events are read.
    const at = this.now();
    this.served = events.map((event) => ({ kind: 'gateway-event', at, event: structuredClone(event) as never }));
  }

  faultStarted(fault: FaultKind, detail?: string): FaultSpan {
    const span: FaultSpan = { kind: 'fault', at: this.now(), until: null, fault, ...(detail ? { detail } : {}) };
    this.events.push(span);
    return span;
  }

  faultHealed(span: FaultSpan): void {
    span.until = this.now();
    span.untilIndex = this.events.length;
  }

  /**
   * The history with the audit exports read after the run, one chain per log. `anchors[i]`: the
   * prev_hash log i's first record links to (absent: genesis) — for a run on a system that was
   * not reset, whose exports are the records written since the run before.
   */
  build(exports: JsonValue[][], auditExported: boolean, anchors?: readonly (string | undefined)[]): History {
    const audit = exports.flat();
    const starts: number[] = [];
    const chainAnchors: string[] = [];
    let at = 0;
    exports.forEach((log, i) => {
      // An empty log holds no chain to begin.
      if (log.length > 0) {
        if (at > 0) starts.push(at);
        chainAnchors.push(anchors?.[i] ?? ZERO_DIGEST);
      }
      at += log.length;
    });
    const anchored = chainAnchors.some((a) => a !== ZERO_DIGEST);
    return structuredClone({
      config: this.config,
      keys: this.keys,
      events: [...this.events, ...this.served],
      audit,
      auditExported,
      ...(starts.length > 0 ? { auditChainStarts: starts } : {}),
      ...(anchored ? { auditChainAnchors: chainAnchors } : {}),
    });
  }
}
