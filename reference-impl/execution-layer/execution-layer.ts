/**
 * The reference Execution Layer. It trusts nobody — the Gate included: every call is re-validated
 * (envelope signed by a trusted Control Plane key, inside its validity window, bound to exactly
 * the request id, identity, action and parameters it is asked to execute), and the approval is
 * consumed in its own durable store before the action runs, so it executes at most once.
 */
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import type { ApprovalEnvelope, TrustedKey } from '../../model/profile/messages.ts';
import { ID_PATTERN, NAME_PATTERN } from '../../model/profile/messages.ts';
import { checkEnvelope } from '../../model/profile/request-checks.ts';
import type { Clock } from '../clock.ts';
import { nowSec, systemClock } from '../clock.ts';
import type { ClaimStore } from '../stores/claim-store.ts';
import type { EffectRecord, EffectSink } from './effect-sink.ts';
import { newEffectId } from './effect-sink.ts';

/** What a caller (normally the Gate) asks the Execution Layer to do. */
export interface ExecutionCall {
  envelope?: JsonValue;
  request_id: string;
  identity: string;
  action: string;
  parameters: JsonValue;
}

/**
 * What the transport knew of a call besides its body. The reference re-validates every call the
 * same way whoever sent it and however: it reads none of this (CONTRACT.md section 5).
 */
export interface CallContext {
  /** the call's HTTP headers, names in lower case */
  headers?: Readonly<Record<string, string>>;
}

export type ExecutionResult =
  | { status: 'executed'; effect_id: string; approval_id: string }
  | { status: 'denied'; code: DenialCode; reason: string };

/** Performs one approved action and reports its effect; throws if it could not. */
export type ActionHandler = (effect: EffectRecord) => Promise<void>;

export interface ExecutionLayerOptions {
  trustedKeys: TrustedKey[];
  /** consumed approval ids: durable and linearizable */
  approvals: ClaimStore;
  sink: EffectSink;
  clock?: Clock;
  /** per-action handlers; an action without one is reported to the sink and nothing else */
  handlers?: Record<string, ActionHandler>;
}

/** Keep a consumed approval id for a day beyond its expiry: long after any copy could be valid. */
const APPROVAL_MEMORY_MS = 24 * 3600 * 1000;

export class ExecutionLayer {
  protected readonly clock: Clock;

  constructor(protected readonly options: ExecutionLayerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  setTrustedKeys(keys: TrustedKey[]): void {
    this.options.trustedKeys = keys;
  }

  /** Every failing check of the envelope against what it is asked to execute (empty: valid). */
  protected envelopeFailures(envelope: unknown, call: ExecutionCall): DenialCode[] {
    return checkEnvelope(envelope, call, this.options.trustedKeys, nowSec(this.clock));
  }

  /** Consumes the approval: "claimed" exactly once per approval id. */
  protected consume(envelope: ApprovalEnvelope): Promise<'claimed' | 'duplicate'> {
    return this.options.approvals.claim(envelope.approval_id, envelope.expires_at * 1000 + APPROVAL_MEMORY_MS);
  }

  async execute(call: unknown, _context: CallContext = {}): Promise<ExecutionResult> {
    const shape = readCall(call);
    if (typeof shape === 'string') return { status: 'denied', code: 'REQUEST_MALFORMED', reason: shape };
    const codes = this.envelopeFailures(shape.envelope, shape);
    const first = codes[0];
    if (first !== undefined) return { status: 'denied', code: first, reason: `envelope check failed: ${codes.join(', ')}` };
    const envelope = shape.envelope as unknown as ApprovalEnvelope;

    let claim;
    try {
      claim = await this.consume(envelope);
    } catch (error) {
      // Single use cannot be guaranteed: refuse. (If the write landed, the approval is spent.)
      return { status: 'denied', code: 'EXECUTION_UNAVAILABLE', reason: `approval store: ${(error as Error).message}` };
    }
    if (claim === 'duplicate') return { status: 'denied', code: 'ENVELOPE_REPLAYED', reason: 'approval already consumed' };

    const effect: EffectRecord = {
      effect_id: newEffectId(),
      at: this.clock.nowMs(),
      approval_id: envelope.approval_id,
      request_id: shape.request_id,
      identity: shape.identity,
      action: shape.action,
      parameters: shape.parameters,
    };
    const handler = this.options.handlers?.[shape.action];
    if (handler) await handler(effect);
    await this.options.sink.report(effect);
    return { status: 'executed', effect_id: effect.effect_id, approval_id: envelope.approval_id };
  }
}

function readCall(value: unknown): ExecutionCall | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the call is not an object';
  const c = value as Record<string, unknown>;
  if (typeof c.request_id !== 'string' || !ID_PATTERN.test(c.request_id)) return 'request_id is missing or malformed';
  if (typeof c.identity !== 'string' || !NAME_PATTERN.test(c.identity)) return 'identity is missing or malformed';
  if (typeof c.action !== 'string' || !NAME_PATTERN.test(c.action)) return 'action is missing or malformed';
  if (!Object.hasOwn(c, 'parameters')) return 'parameters are missing';
  return {
    ...(c.envelope === undefined ? {} : { envelope: c.envelope as JsonValue }),
    request_id: c.request_id,
    identity: c.identity,
    action: c.action,
    parameters: c.parameters as JsonValue,
  };
}
