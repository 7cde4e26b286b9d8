/**
 * One reading of a recorded History that decodes and correlates everything the INV-1…INV-6
 * predicates need, so that each predicate is a short reading of facts rather than a re-parse.
 *
 * Correlation rules (the same for every predicate):
 * - a request op is its RequestSent; its bytes are the authority for the request hash and parsing;
 * - a policy exchange belongs to the latest request sent before it whose parsed request has the
 *   question's request_id (that op is then "accepted": the Gate asked the Control Plane for it),
 *   passing over duplicates already answered or denied before the policy stage;
 * - an effect belongs to the latest trusted allow before it whose envelope has the effect's
 *   approval_id, and through it to that exchange's op.
 *
 * "Before" is event order: events are recorded in non-decreasing `at`, and within one millisecond
 * the recorded order is the only order an observer has.
 */
import type {
  DirectCall,
  Effect,
  FaultSpan,
  GateResponse,
  History,
  Millis,
  PolicyExchange,
  RequestSent,
} from '../history.ts';
import type { JsonValue } from '../profile/canonical-json.ts';
import { parseStrictJson } from '../profile/canonical-json.ts';
import type { DenialCode } from '../profile/denial-codes.ts';
import { DENIAL_CODES, isDenialCode } from '../profile/denial-codes.ts';
import type { Digest } from '../profile/digest.ts';
import { digestJson, sha256Digest } from '../profile/digest.ts';
import { fromBase64Url } from '../profile/encoding.ts';
import type { ApprovalEnvelope, ClientRequest, Problem, TrustedKey } from '../profile/messages.ts';
import { validateEnvelope, verifyEnvelopeSignature } from '../profile/messages.ts';
import { checkEnvelope, nonceKey, readRequest } from '../profile/request-checks.ts';
import { publicKeyFromText } from '../profile/signing.ts';

export type ParsedRequest =
  | { ok: true; request: ClientRequest }
  | { ok: false; code: DenialCode | 'BODY_NOT_BASE64URL'; problems: Problem[] };

export interface RequestOp {
  op: number;
  eventIndex: number;
  event: RequestSent;
  /** undefined when the recorded body is not base64url (a broken recording) */
  bytes: Uint8Array | undefined;
  requestHash: Digest | undefined;
  parsed: ParsedRequest;
  /** the identity the body claims even when it did not parse as a whole (for audit attribution) */
  claimedIdentity: string | undefined;
  /** digestJson of the parsed request's parameters, or of those a body that did not parse still carries */
  claimedParametersDigest: Digest | undefined;
  /** nonceKey of the parsed request */
  nonceKey: string | undefined;
  response: ResponseInfo | undefined;
  /** policy exchanges attributed to this op, in event order */
  exchanges: ExchangeInfo[];
}

export interface ResponseInfo {
  eventIndex: number;
  event: GateResponse;
}

export type EnvelopeTrust =
  | { kind: 'absent' }
  | { kind: 'malformed'; problems: Problem[] }
  | { kind: 'untrusted-key'; envelope: ApprovalEnvelope }
  | { kind: 'bad-signature'; envelope: ApprovalEnvelope }
  | { kind: 'trusted'; envelope: ApprovalEnvelope };

export interface ExchangeInfo {
  eventIndex: number;
  event: PolicyExchange;
  /** the question's request_id, when the question is an object carrying a string one */
  questionRequestId: string | undefined;
  /** the op this exchange was made for (see the module comment) */
  op: RequestOp | undefined;
  /** trust of the allow envelope; `absent` for every answer that is not an allow with an envelope */
  trust: EnvelopeTrust;
  /** the answer is an allow whose envelope is well formed and signed by a trusted key */
  trustedAllow: boolean;
  /** the approval_id the allow envelope claims, trusted or not (string fields only) */
  claimedApprovalId: string | undefined;
}

export interface EffectInfo {
  eventIndex: number;
  event: Effect;
  /** the latest trusted allow before the effect whose envelope carries the effect's approval_id */
  exchange: ExchangeInfo | undefined;
  /**
   * The request op the effect is attributed to: the trusted exchange's op; failing that, the op
   * of any earlier exchange whose allow envelope claims the approval_id; failing that (and when no
   * legitimate direct call explains it), the latest earlier op whose parsed request has the
   * effect's request_id.
   */
  op: RequestOp | undefined;
  /** a legitimate direct call before it that presented its approval, when this is that approval's first use */
  directCall: DirectCallInfo | undefined;
  /** earlier effects with the same approval_id (none: this is the approval's first use) */
  earlierWithSameApproval: EffectInfo[];
  parametersDigest: Digest | undefined;
}

export interface DirectCallInfo {
  eventIndex: number;
  event: DirectCall;
  trust: EnvelopeTrust;
  /** checkEnvelope against the call's own identity/action/parameters at the call time */
  envelopeCodes: DenialCode[];
  /** the envelope is valid for this call and its approval had not produced an effect before */
  legitimate: boolean;
  parametersDigest: Digest | undefined;
}

export interface FaultInfo {
  eventIndex: number;
  event: FaultSpan;
}

export interface HistoryIndex {
  history: History;
  ops: RequestOp[];
  opsByOp: Map<number, RequestOp>;
  opsByRequestId: Map<string, RequestOp[]>;
  opsByRequestHash: Map<Digest, RequestOp[]>;
  opsByNonceKey: Map<string, RequestOp[]>;
  /** responses whose op has no RequestSent (a broken recording, or a made-up answer) */
  orphanResponses: ResponseInfo[];
  exchanges: ExchangeInfo[];
  /** exchanges whose allow envelope claims this approval_id, trusted or not */
  exchangesByApprovalId: Map<string, ExchangeInfo[]>;
  effects: EffectInfo[];
  effectsByApprovalId: Map<string, EffectInfo[]>;
  directCalls: DirectCallInfo[];
  faults: FaultInfo[];
}

/** Harness milliseconds to the unix seconds that requests and envelopes speak. */
export function toUnixSeconds(at: Millis): number {
  return Math.floor(at / 1000);
}

export function isJsonObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * digestJson that answers undefined for a value with no canonical form (a lone surrogate, a
 * non-finite number): such parameters match no binding, and a predicate must not throw on them.
 */
export function digestJsonOrUndefined(value: unknown): Digest | undefined {
  try {
    return digestJson(value);
  } catch {
    return undefined;
  }
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Well-formed, then signed by the Control Plane key its key_id names among the trusted ones. */
export function envelopeTrust(value: JsonValue | undefined, trustedKeys: readonly TrustedKey[]): EnvelopeTrust {
  if (value === undefined) return { kind: 'absent' };
  const shape = validateEnvelope(value);
  if (!shape.ok) return { kind: 'malformed', problems: shape.problems };
  const envelope = shape.value;
  // As checkEnvelope does: any trusted entry under that key_id that verifies is enough.
  const publicKeys = trustedKeys
    .filter((candidate) => candidate.key_id === envelope.key_id)
    .map((candidate) => publicKeyFromText(candidate.public_key))
    .filter((key): key is Uint8Array => key !== undefined);
  if (publicKeys.length === 0) return { kind: 'untrusted-key', envelope };
  return publicKeys.some((key) => verifyEnvelopeSignature(envelope, key))
    ? { kind: 'trusted', envelope }
    : { kind: 'bad-signature', envelope };
}

function readOp(event: RequestSent, eventIndex: number): RequestOp {
  const bytes = fromBase64Url(event.body);
  const base = { op: event.op, eventIndex, event, response: undefined, exchanges: [] };
  if (!bytes) {
    return {
      ...base,
      bytes,
      requestHash: undefined,
      parsed: { ok: false, code: 'BODY_NOT_BASE64URL', problems: [{ path: '$', message: 'the recorded body is not base64url' }] },
      claimedIdentity: undefined,
      claimedParametersDigest: undefined,
      nonceKey: undefined,
    };
  }
  const parsed = readRequest(bytes);
  if (parsed.ok) {
    const { request } = parsed;
    return {
      ...base,
      bytes,
      requestHash: sha256Digest(bytes),
      parsed,
      claimedIdentity: request.identity,
      claimedParametersDigest: digestJsonOrUndefined(request.parameters),
      nonceKey: nonceKey(request.identity, request.action, request.nonce),
    };
  }
  // A request refused for its shape may still name who sent it; the audit may record that claim.
  let claimedIdentity: string | undefined;
  let claimedParametersDigest: Digest | undefined;
  try {
    const json = parseStrictJson(bytes);
    if (isJsonObject(json)) {
      if (typeof json.identity === 'string') claimedIdentity = json.identity;
      if (json.parameters !== undefined) claimedParametersDigest = digestJsonOrUndefined(json.parameters);
    }
  } catch {
    // not strict JSON: nothing is claimed
  }
  return {
    ...base,
    bytes,
    requestHash: sha256Digest(bytes),
    parsed: { ok: false, code: parsed.code, problems: parsed.problems },
    claimedIdentity,
    claimedParametersDigest,
    nonceKey: undefined,
  };
}

function claimedApprovalId(answer: PolicyExchange['answer']): string | undefined {
  if (answer.kind !== 'allow' || !isJsonObject(answer.envelope)) return undefined;
  const approvalId = answer.envelope.approval_id;
  return typeof approvalId === 'string' ? approvalId : undefined;
}

/** A denial the Gate must give before it asks the Control Plane (structure, authentication, replay). */
export function isPrePolicyDenial(code: string | undefined): boolean {
  if (!isDenialCode(code)) return false;
  const stage = DENIAL_CODES[code].stage;
  return stage === 'structure' || stage === 'authentication' || stage === 'replay';
}

/**
 * The op a policy exchange was made for: the latest op sent before it with the question's
 * request_id. Concurrent duplicates share a request_id, so ops already answered before the
 * exchange, and ops the Gate says it denied before asking, are passed over while another remains;
 * among duplicates still in flight, one not yet asked about takes the exchange before a retry is
 * assumed (two exchanges for two in-flight duplicates are one each).
 */
function attributeExchange(requestId: string | undefined, eventIndex: number, index: HistoryIndex): RequestOp | undefined {
  if (requestId === undefined) return undefined;
  const sentBefore = (index.opsByRequestId.get(requestId) ?? []).filter((op) => op.eventIndex < eventIndex);
  const pending = sentBefore.filter((op) => !op.response || op.response.eventIndex > eventIndex);
  const askable = pending.filter((op) => !(op.response?.event.status === 'denied' && isPrePolicyDenial(op.response.event.code)));
  return askable.find((op) => op.exchanges.length === 0) ?? askable.at(-1) ?? pending.at(-1) ?? sentBefore.at(-1);
}

export function buildHistoryIndex(history: History): HistoryIndex {
  const trustedKeys = history.keys.controlPlaneKeys;
  const index: HistoryIndex = {
    history,
    ops: [],
    opsByOp: new Map(),
    opsByRequestId: new Map(),
    opsByRequestHash: new Map(),
    opsByNonceKey: new Map(),
    orphanResponses: [],
    exchanges: [],
    exchangesByApprovalId: new Map(),
    effects: [],
    effectsByApprovalId: new Map(),
    directCalls: [],
    faults: [],
  };

  // Pass 1: requests and their responses, so that attribution can see how each op ended.
  history.events.forEach((event, eventIndex) => {
    if (event.kind === 'request') {
      const op = readOp(event, eventIndex);
      index.ops.push(op);
      index.opsByOp.set(op.op, op);
      if (op.parsed.ok) pushTo(index.opsByRequestId, op.parsed.request.request_id, op);
      if (op.requestHash) pushTo(index.opsByRequestHash, op.requestHash, op);
      if (op.nonceKey !== undefined) pushTo(index.opsByNonceKey, op.nonceKey, op);
    } else if (event.kind === 'response') {
      const response = { eventIndex, event };
      const op = index.opsByOp.get(event.op);
      // A second response to one op is ignored: the first answer is what the client saw.
      if (op && !op.response) op.response = response;
      else if (!op) index.orphanResponses.push(response);
    } else if (event.kind === 'fault') {
      index.faults.push({ eventIndex, event });
    }
  });

  // Pass 2: exchanges, effects and direct calls, in event order (each looks only backwards).
  history.events.forEach((event, eventIndex) => {
    switch (event.kind) {
      case 'policy': {
        const questionRequestId =
          isJsonObject(event.question) && typeof event.question.request_id === 'string'
            ? event.question.request_id
            : undefined;
        const trust: EnvelopeTrust =
          event.answer.kind === 'allow' ? envelopeTrust(event.answer.envelope, trustedKeys) : { kind: 'absent' };
        const exchange: ExchangeInfo = {
          eventIndex,
          event,
          questionRequestId,
          op: attributeExchange(questionRequestId, eventIndex, index),
          trust,
          trustedAllow: event.answer.kind === 'allow' && trust.kind === 'trusted',
          claimedApprovalId: claimedApprovalId(event.answer),
        };
        exchange.op?.exchanges.push(exchange);
        index.exchanges.push(exchange);
        if (exchange.claimedApprovalId !== undefined) pushTo(index.exchangesByApprovalId, exchange.claimedApprovalId, exchange);
        break;
      }
      case 'effect': {
        const approvalId = event.approval_id;
        const claiming = approvalId === undefined ? [] : (index.exchangesByApprovalId.get(approvalId) ?? []);
        const exchange = claiming.findLast((candidate) => candidate.trustedAllow);
        const byRequestId =
          event.request_id === undefined
            ? undefined
            : (index.opsByRequestId.get(event.request_id) ?? []).findLast((op) => op.eventIndex < eventIndex);
        const earlierWithSameApproval = approvalId === undefined ? [] : [...(index.effectsByApprovalId.get(approvalId) ?? [])];
        const directCall =
          approvalId === undefined || earlierWithSameApproval.length > 0
            ? undefined
            : index.directCalls.findLast(
                (call) => call.legitimate && call.trust.kind === 'trusted' && call.trust.envelope.approval_id === approvalId,
              );
        // An effect that a valid direct call explains is not pinned on a gate request by its request_id.
        const op = exchange?.op ?? claiming.findLast((candidate) => candidate.op)?.op ?? (directCall ? undefined : byRequestId);
        const effect: EffectInfo = {
          eventIndex,
          event,
          exchange,
          op,
          directCall,
          earlierWithSameApproval,
          parametersDigest: digestJsonOrUndefined(event.parameters),
        };
        index.effects.push(effect);
        if (approvalId !== undefined) pushTo(index.effectsByApprovalId, approvalId, effect);
        break;
      }
      case 'direct-call': {
        const trust = envelopeTrust(event.envelope, trustedKeys);
        const envelopeCodes: DenialCode[] =
          event.envelope === undefined
            ? ['ENVELOPE_MISSING']
            : checkEnvelope(
                event.envelope,
                {
                  // A direct call names no request: the envelope's own request_id is all there is.
                  request_id: 'envelope' in trust ? trust.envelope.request_id : '',
                  identity: event.identity,
                  action: event.action,
                  parameters: event.parameters,
                },
                trustedKeys,
                toUnixSeconds(event.at),
              );
        const approvalAlreadyUsed =
          trust.kind === 'trusted' && (index.effectsByApprovalId.get(trust.envelope.approval_id)?.length ?? 0) > 0;
        index.directCalls.push({
          eventIndex,
          event,
          trust,
          envelopeCodes,
          legitimate: trust.kind === 'trusted' && envelopeCodes.length === 0 && !approvalAlreadyUsed,
          parametersDigest: digestJsonOrUndefined(event.parameters),
        });
        break;
      }
      default:
        break;
    }
  });
  return index;
}

/** Sorted, de-duplicated event indexes for a Violation. */
export function witnesses(...indexes: (number | undefined)[]): number[] {
  return [...new Set(indexes.filter((i): i is number => i !== undefined))].sort((a, b) => a - b);
}
