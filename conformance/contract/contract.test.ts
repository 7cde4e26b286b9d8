/**
 * The vendor contract stays true to the code:
 *  (a) the generated formats and denial codes equal model/profile/, and the prose tables of
 *      CONTRACT.md equal the code and the schemas;
 *  (b) every message the reference and the history builder produce, every vector and every example
 *      in CONTRACT.md validates (and malformed vectors do not);
 *  (c) the schemas and the hand-written validators of messages.ts agree on accept/reject for
 *      valid messages and their mutations.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultHistoryKeys, HistoryBuilder, addCompliantTraffic, TEST_KEYS, trustedKey } from '../../model/history-builder.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalBytes, parseStrictJson } from '../../model/profile/canonical-json.ts';
import { ALL_DENIAL_CODES, DENIAL_CODES } from '../../model/profile/denial-codes.ts';
import { digestJson, isDigest } from '../../model/profile/digest.ts';
import { fromBase64Url, toBase64Url, utf8Encode } from '../../model/profile/encoding.ts';
import type { ClientRequest, PolicyQuestion } from '../../model/profile/messages.ts';
import {
  ID_PATTERN,
  NAME_PATTERN,
  NONCE_PATTERN,
  SIGNATURE_LENGTH,
  validateAuditRecord,
  validateControlPlaneAnswer,
  validateEnvelope,
  validateGatewayEvent,
  validateIdentityKey,
  validateRequest,
  validateTrustedKey,
  verifyEnvelopeSignature,
  verifyRequestSignature,
} from '../../model/profile/messages.ts';
import { checkEnvelope } from '../../model/profile/request-checks.ts';
import { isKeyId } from '../../model/profile/signing.ts';
import { exportJson, exportNdjson, verifyChain } from '../../reference-impl/audit/audit-log.ts';
import { ControlPlane } from '../../reference-impl/control-plane/control-plane.ts';
import type { Policy } from '../../reference-impl/control-plane/policy.ts';
import { MemoryEffectSink } from '../../reference-impl/execution-layer/effect-sink.ts';
import type { ExecutionCall } from '../../reference-impl/execution-layer/execution-layer.ts';
import type { GateAnswer } from '../../reference-impl/gate/gate.ts';
import { createExecutionLayerServer } from '../../reference-impl/http/execution-layer-server.ts';
import { createGateServer } from '../../reference-impl/http/gate-server.ts';
import { closeServer, listen } from '../../reference-impl/http/http-util.ts';
import type { InProcessReference } from '../../reference-impl/in-process.ts';
import { createInProcessReference } from '../../reference-impl/in-process.ts';
import { parseServeConfig } from '../../reference-impl/serve-config.ts';
import type { RunningReference } from '../../reference-impl/serve.ts';
import { startReference } from '../../reference-impl/serve.ts';
import type { Capability } from '../driver.ts';
import { DRIVER_FAULTS } from '../driver.ts';
import {
  CONTRACT_BASE_URI,
  PROFILE_DEFS_FILE,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  base64UrlPattern,
  patternFromSource,
  profileDefsText,
  profileFormats,
} from './profile-defs.ts';
import type { MessageKind } from './schemas.ts';
import { MESSAGE_KINDS, SCHEMA_DIR, SCHEMA_FILES, readSchema, validateMessage } from './schemas.ts';

const CONTRACT_MD = readFileSync(new URL('CONTRACT.md', import.meta.url), 'utf8');
const VECTORS = new URL('../vectors/', import.meta.url);
const readVectors = (name: string) => JSON.parse(readFileSync(new URL(name, VECTORS), 'utf8')) as Record<string, unknown>;

type Defs = Record<string, { pattern?: string; enum?: unknown[]; const?: unknown }>;
const defs = (readSchema(PROFILE_DEFS_FILE) as { $defs: Defs }).$defs;

function expectValid(kind: MessageKind, value: unknown): void {
  const result = validateMessage(kind, value);
  // Show the errors and the value, not just "false", when a message does not validate.
  expect(result.ok ? [] : { kind, errors: result.errors, value }).toEqual([]);
}

function expectInvalid(kind: MessageKind, value: unknown): void {
  expect(validateMessage(kind, value).ok, `${kind} should be refused: ${JSON.stringify(value)}`).toBe(false);
}

/** Every `pattern` string anywhere in a schema document. */
function patternsIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(patternsIn);
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) => (key === 'pattern' && typeof value === 'string' ? [value] : patternsIn(value)));
}

// ------------------------------------------------------------------ (a) no drift

/** Every Capability of conformance/driver.ts; the type assertion below fails to compile if one is added there. */
const CAPABILITIES = [
  ...DRIVER_FAULTS,
  'clock-offset',
  'crash-restart',
  'direct-execution',
  'audit-export',
  'reset',
] as const satisfies readonly Capability[];
type UnlistedCapability = Exclude<Capability, (typeof CAPABILITIES)[number]>;
const everyCapabilityListed: [UnlistedCapability] extends [never] ? true : never = true;

describe('the contract cannot drift from the code', () => {
  it('profile-defs.schema.json is exactly what generate.ts builds from model/profile', () => {
    const committed = readFileSync(new URL(PROFILE_DEFS_FILE, SCHEMA_DIR), 'utf8');
    expect(committed, 'run `npx tsx conformance/contract/generate.ts`').toBe(profileDefsText());
  });

  it('the denial-code enum equals ALL_DENIAL_CODES', () => {
    expect(defs.denialCode?.enum).toEqual(ALL_DENIAL_CODES);
  });

  it('every pattern equals the one the code uses', () => {
    const profileDir = new URL('../../model/profile/', import.meta.url);
    const code: Record<string, RegExp> = {
      nonce: NONCE_PATTERN,
      id: ID_PATTERN,
      name: NAME_PATTERN,
      keyId: patternFromSource(new URL('signing.ts', profileDir), 'KEY_ID_PATTERN'),
      digest: patternFromSource(new URL('digest.ts', profileDir), 'DIGEST_PATTERN'),
    };
    for (const [name, regex] of Object.entries(code)) {
      const pattern = defs[name]?.pattern;
      expect(pattern, name).toBeDefined();
      expect(new RegExp(pattern ?? '').source, name).toBe(regex.source);
    }
    expect(defs.signature?.pattern).toBe(base64UrlPattern(SIGNATURE_BYTES).source);
    expect(defs.publicKey?.pattern).toBe(base64UrlPattern(PUBLIC_KEY_BYTES).source);
    expect(base64UrlPattern(SIGNATURE_BYTES).source).toContain(`{${SIGNATURE_LENGTH - 1}}`);
  });

  it('message schemas define no format of their own: they refer to profile-defs', () => {
    const ownUrlPatterns = new Set(['^https?://', '^https?://[^\\s]+$']);
    for (const kind of MESSAGE_KINDS) {
      const own = patternsIn(readSchema(`${kind}.schema.json`)).filter((p) => !ownUrlPatterns.has(p));
      expect(own, kind).toEqual([]);
    }
  });

  it('the key id, digest and base64url patterns accept exactly what the code accepts', () => {
    const f = profileFormats();
    const keyIdChars = fc.constantFrom(...'ed25519/._-:+=aZ09 é'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: keyIdChars, maxLength: 70 }).map((s) => `ed25519/${s}`), fc.string({ unit: keyIdChars, maxLength: 12 })), (s) => {
        expect(new RegExp(defs.keyId?.pattern ?? '', 'u').test(s)).toBe(isKeyId(s));
        expect(f.keyId.test(s)).toBe(isKeyId(s));
      }),
      { numRuns: 400 },
    );
    const hexish = fc.constantFrom(...'0123456789abcdefABCDEFg:'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: hexish, minLength: 62, maxLength: 66 }).map((s) => `sha256:${s}`), fc.string({ unit: hexish, maxLength: 8 })), (s) => {
        expect(new RegExp(defs.digest?.pattern ?? '', 'u').test(s)).toBe(isDigest(s));
      }),
      { numRuns: 400 },
    );
    const b64 = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/'.split(''));
    for (const [name, bytes] of [['signature', SIGNATURE_BYTES], ['publicKey', PUBLIC_KEY_BYTES]] as const) {
      const pattern = new RegExp(defs[name]?.pattern ?? '', 'u');
      const length = Math.ceil((bytes * 8) / 6);
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ minLength: bytes, maxLength: bytes }).map(toBase64Url),
            fc.string({ unit: b64, minLength: length - 2, maxLength: length + 2 }),
          ),
          (s) => {
            expect(pattern.test(s), s).toBe(fromBase64Url(s)?.length === bytes);
          },
        ),
        { numRuns: 400 },
      );
    }
  });

  it('hello lists every Capability of driver.ts, and fault commands every DriverFault', () => {
    expect(everyCapabilityListed).toBe(true);
    const hello = readSchema('hello.schema.json') as { properties: { capabilities: { items: { enum: string[] } } } };
    expect(hello.properties.capabilities.items.enum).toEqual([...CAPABILITIES]);
    const fault = readSchema('fault-command.schema.json') as { properties: { fault: { enum: string[] } } };
    expect(fault.properties.fault.enum).toEqual([...DRIVER_FAULTS]);
  });

  it('schemas/ holds exactly the published files, each with its $id under the contract base', () => {
    expect(readdirSync(SCHEMA_DIR).sort()).toEqual([...SCHEMA_FILES].sort());
    for (const file of SCHEMA_FILES) {
      const schema = readSchema(file);
      expect(schema.$id, file).toBe(`${CONTRACT_BASE_URI}${file}`);
      expect(schema.$schema, file).toBe('https://json-schema.org/draft/2020-12/schema');
    }
  });

  it("CONTRACT.md's denial-code table is denial-codes.ts", () => {
    const rows = [...CONTRACT_MD.matchAll(/^\| `([A-Z_]+)` \| (\w+) \| ([^|]+) \| (.+) \|$/gm)].map((m) => ({
      code: m[1],
      stage: m[2],
      invariants: m[3]?.trim().split(/,\s*/),
      meaning: m[4]?.trim(),
    }));
    expect(rows).toEqual(
      Object.entries(DENIAL_CODES).map(([code, info]) => ({ code, stage: info.stage, invariants: [...info.invariants], meaning: info.meaning })),
    );
  });

  it("CONTRACT.md's configuration table is gate-config.schema.json", () => {
    const rows = [...CONTRACT_MD.matchAll(/^\| `FAILCLOSED_([A-Z_]+)` \| (\*\*required\*\*|optional|tuning) \|/gm)].map((m) => ({
      field: (m[1] ?? '').toLowerCase(),
      required: m[2] === '**required**',
    }));
    const config = readSchema('gate-config.schema.json') as { properties: Record<string, unknown>; required: string[] };
    const settings = rows.filter((r) => r.field !== 'config_file');
    expect(settings.map((r) => r.field).sort()).toEqual(Object.keys(config.properties).sort());
    expect(settings.filter((r) => r.required).map((r) => r.field).sort()).toEqual([...config.required].sort());
  });
});

// ------------------------------------------------------------------ (b) real messages validate

describe('every example in CONTRACT.md validates, and means what it says', () => {
  const examples = [...CONTRACT_MD.matchAll(/<!-- example: ([a-z-]+) -->\s*```json\n([\s\S]*?)```/g)].map((m) => ({
    kind: m[1] as MessageKind,
    value: JSON.parse(m[2] ?? '') as JsonValue,
  }));

  it('covers the messages a vendor sends or receives', () => {
    const shown = new Set(examples.map((e) => e.kind));
    // envelope and audit-record appear inside control-plane-answer / execution-call and audit-export
    expect(MESSAGE_KINDS.filter((k) => !shown.has(k))).toEqual(['envelope', 'audit-record']);
    for (const e of examples) expect(MESSAGE_KINDS).toContain(e.kind);
  });

  it('each validates against its schema', () => {
    for (const e of examples) expectValid(e.kind, e.value);
  });

  it('the signatures verify, the envelope binds the request, the digests and the chain are right', () => {
    const of = (kind: MessageKind) => examples.filter((e) => e.kind === kind).map((e) => e.value as never);
    const [request] = of('request') as ClientRequest[];
    const [allow] = of('control-plane-answer') as { envelope: never }[];
    const [question] = of('policy-question') as PolicyQuestion[];
    const [call] = of('execution-call') as ExecutionCall[];
    const [effect] = of('effect-record') as { parameters: JsonValue }[];
    const [audit] = of('audit-export') as unknown[][];
    if (!request || !allow || !question || !call || !effect || !audit) throw new Error('an example is missing');
    expect(verifyRequestSignature(request, TEST_KEYS.alice.publicKey)).toBe(true);
    expect(verifyEnvelopeSignature(allow.envelope, TEST_KEYS.controlPlane.publicKey)).toBe(true);
    expect(checkEnvelope(allow.envelope, request, [trustedKey(TEST_KEYS.controlPlane)], request.timestamp)).toEqual([]);
    expect(question.parameters_digest).toBe(digestJson(request.parameters));
    expect(call).toEqual({ envelope: allow.envelope, request_id: request.request_id, identity: request.identity, action: request.action, parameters: request.parameters });
    expect(effect.parameters).toEqual(request.parameters);
    expect(verifyChain(audit)).toEqual({ ok: true });
    expect(of('trusted-keys')).toEqual([defaultHistoryKeys().controlPlaneKeys]);
    expect(of('identity-keys')).toEqual([{ keys: defaultHistoryKeys().identityKeys }]);
  });
});

describe('the history builder produces valid messages', () => {
  const b = new HistoryBuilder();
  const traffic = addCompliantTraffic(b);
  const request = traffic.executed.request;

  it('requests, envelopes, questions and answers', () => {
    expectValid('request', request);
    expectValid('envelope', traffic.executed.envelope);
    expectValid('policy-question', b.question(request));
    expectValid('control-plane-answer', { decision: 'allow', envelope: traffic.executed.envelope });
    expectValid('control-plane-answer', { decision: 'deny' });
    expectValid('execution-call', { envelope: traffic.executed.envelope, request_id: request.request_id, identity: request.identity, action: request.action, parameters: request.parameters });
  });

  it('audit records (intent, executed, every kind of denial) and their export', () => {
    expect(b.audit.length).toBeGreaterThan(5);
    for (const record of b.audit) expectValid('audit-record', record);
    expectValid('audit-export', b.audit);
  });

  it('effects and keys', () => {
    const effects = b.events.filter((e) => e.kind === 'effect');
    expect(effects.length).toBeGreaterThan(0);
    for (const { kind: _kind, ...effect } of effects) expectValid('effect-record', effect);
    const keys = defaultHistoryKeys();
    expectValid('identity-keys', { keys: keys.identityKeys });
    expectValid('trusted-keys', keys.controlPlaneKeys);
  });
});

describe('a reference run produces valid messages', () => {
  const policy: Policy = { rules: [{ identity: 'alice', action: 'payments.transfer', effect: 'allow' }] };
  const questions: PolicyQuestion[] = [];
  const cpAnswers: unknown[] = [];
  const calls: ExecutionCall[] = [];
  const results: unknown[] = [];
  const answers: GateAnswer[] = [];
  const sink = new MemoryEffectSink();
  const controlPlane = new ControlPlane({ policy, signingKeys: [TEST_KEYS.controlPlane] });
  let ref: InProcessReference;
  // Fresh timestamps: the reference runs on the system clock.
  const b = new HistoryBuilder({ startMs: Date.now() });

  beforeAll(async () => {
    ref = createInProcessReference({
      identityKeys: defaultHistoryKeys().identityKeys,
      controlPlaneKeys: [TEST_KEYS.controlPlane],
      policy,
      sink,
      // Record both sides of each link, exactly as they cross it.
      controlPlaneLink: {
        ask: async (question) => {
          questions.push(structuredClone(question));
          const answer = controlPlane.decide(structuredClone(question));
          cpAnswers.push(structuredClone(answer));
          return answer as unknown as JsonValue;
        },
      },
      wrapExecutionLink: (link) => ({
        execute: async (call, signal) => {
          calls.push(structuredClone(call));
          const result = await link.execute(call, signal);
          results.push(structuredClone(result));
          return result;
        },
      }),
    });
    const executed = b.request({ identity: 'alice' });
    const submit = async (body: Uint8Array | string) => {
      const answer = await ref.gate.handle(typeof body === 'string' ? utf8Encode(body) : body);
      answers.push(answer);
      return answer;
    };
    expect((await submit(canonicalBytes(executed))).status).toBe('executed');
    expect((await submit(canonicalBytes(executed))).code).toBe('REPLAY_DETECTED');
    expect((await submit(canonicalBytes(b.request({ identity: 'bob' })))).code).toBe('POLICY_DENIED');
    expect((await submit(canonicalBytes(b.request({ nonce: 'short' })))).code).toBe('NONCE_MALFORMED');
    expect((await submit(canonicalBytes(b.request({}, TEST_KEYS.aliceRevoked)))).code).toBe('KEY_REVOKED');
    expect((await submit('{"request_id": "broken"')).code).toBe('REQUEST_MALFORMED');
    // Bypass probes straight at the Execution Layer: no envelope, and the consumed one again.
    const first = calls[0];
    if (!first) throw new Error('the Gate made no execution call');
    results.push(await ref.executionLayer.execute({ request_id: 'req-probe', identity: 'alice', action: 'payments.transfer', parameters: {} }));
    results.push(await ref.executionLayer.execute(structuredClone(first)));
  });

  afterAll(async () => {
    await ref?.close();
  });

  it('gate answers, executed and denied', () => {
    expect(answers.map((a) => a.status)).toEqual(['executed', 'denied', 'denied', 'denied', 'denied', 'denied']);
    for (const answer of answers) expectValid('gate-answer', answer);
  });

  it('policy questions and Control Plane answers (allow and deny)', () => {
    expect(questions.length).toBe(2);
    for (const question of questions) expectValid('policy-question', question);
    expect(cpAnswers.map((a) => (a as { decision: string }).decision)).toEqual(['allow', 'deny']);
    for (const answer of cpAnswers) expectValid('control-plane-answer', answer);
  });

  it('execution calls and results (executed, missing envelope, replayed)', () => {
    expect(calls.length).toBe(1);
    for (const call of calls) expectValid('execution-call', call);
    expect(results.map((r) => (r as { status: string; code?: string }).code ?? 'executed')).toEqual(['executed', 'ENVELOPE_MISSING', 'ENVELOPE_REPLAYED']);
    for (const result of results) expectValid('execution-result', result);
  });

  it('effect records', () => {
    expect(sink.effects.length).toBe(1);
    for (const effect of sink.effects) expectValid('effect-record', effect);
  });

  it('audit records, the JSON and NDJSON exports, and gateway events', async () => {
    const records = await ref.audit.records();
    expect(records.length).toBe(7); // intent + final, and one final per denial
    for (const record of records) expectValid('audit-record', record);
    expect(verifyChain(records)).toEqual({ ok: true });
    expectValid('audit-export', JSON.parse(exportJson(records)));
    const lines = exportNdjson(records).trimEnd().split('\n');
    for (const line of lines) expectValid('audit-record', JSON.parse(line));
    expect(ref.events.length).toBeGreaterThan(0);
    for (const event of ref.events) expectValid('gateway-event', event);
  });

  it('over HTTP: health, answers, the audit export, events and an Execution Layer refusal', async () => {
    const gateServer = createGateServer(ref);
    const elServer = createExecutionLayerServer(ref.executionLayer);
    try {
      const gate = await listen(gateServer, '127.0.0.1', 0);
      const el = await listen(elServer, '127.0.0.1', 0);
      const getJson = async (url: string) => (await fetch(url)).json() as Promise<unknown>;
      expectValid('health', await getJson(`${gate}/healthz`));
      for (const body of [canonicalBytes(b.request()), utf8Encode('not json')]) {
        const response = await fetch(`${gate}/v1/requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        expect([200, 403]).toContain(response.status);
        expectValid('gate-answer', await response.json());
      }
      expectValid('audit-export', await getJson(`${gate}/v1/audit`));
      const ndjson = await (await fetch(`${gate}/v1/audit?format=ndjson`)).text();
      for (const line of ndjson.trimEnd().split('\n')) expectValid('audit-record', JSON.parse(line));
      for (const event of (await getJson(`${gate}/v1/events`)) as unknown[]) expectValid('gateway-event', event);
      const refused = await fetch(`${el}/v1/execute`, { method: 'POST', body: 'garbage' });
      expect(refused.status).toBe(403);
      expectValid('execution-result', await refused.json());
    } finally {
      await Promise.all([closeServer(gateServer), closeServer(elServer)]);
    }
  });
});

describe('the reference served over HTTP speaks the contract, control channel included', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'failclosed-contract-'));
  let running: RunningReference;
  const b = new HistoryBuilder({ startMs: Date.now() });
  const url = (path: string) => new URL(path, running.urls.gate);
  /** Sends a control command after checking it against its own schema: the harness's side of the contract. */
  const command = async (path: string, kind: MessageKind | undefined, body: unknown) => {
    if (kind) expectValid(kind, body);
    const response = await fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await response.body?.cancel();
    return response.status;
  };
  const submit = async (request: unknown) => {
    const response = await fetch(url('/v1/requests'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: canonicalBytes(request) });
    const answer = (await response.json()) as GateAnswer;
    expectValid('gate-answer', answer);
    expect(response.status).toBe(answer.status === 'executed' ? 200 : 403);
    return answer;
  };
  const auditExport = async () => (await (await fetch(url('/v1/audit'))).json()) as unknown[];

  beforeAll(async () => {
    const policyFile = join(dataDir, 'contract-policy.json');
    writeFileSync(policyFile, JSON.stringify({ rules: [{ identity: 'alice', action: 'payments.transfer', effect: 'allow' }] }));
    const config = parseServeConfig(
      JSON.stringify({
        ports: { gate: 0, controlPlane: 0, executionLayer: 0 },
        dataDir,
        policyFile,
        identityKeys: defaultHistoryKeys().identityKeys,
        fsync: false,
        conformanceChannel: true,
      }),
      dataDir,
    );
    running = await startReference(config);
  });

  afterAll(async () => {
    await running?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('health, the handshake, an execution with its effect report, and the audit export', async () => {
    expectValid('health', await (await fetch(url('/healthz'))).json());
    const hello = await (await fetch(url('/failclosed/v1/hello'))).json();
    expectValid('hello', hello);
    expect((await submit(b.request())).status).toBe('executed');
    const effects = readFileSync(running.paths.effects ?? '', 'utf8').trimEnd().split('\n');
    expect(effects.length).toBe(1);
    for (const line of effects) expectValid('effect-record', JSON.parse(line));
    const records = await auditExport();
    expectValid('audit-export', records);
    expect(verifyChain(records)).toEqual({ ok: true });
  });

  it('faults, clock, restart and reset answer 204; an unknown fault 400', async () => {
    expect(await command('/failclosed/v1/fault', 'fault-command', { fault: 'nonce-store-unconfirmed', active: true })).toBe(204);
    const request = b.request();
    expect((await submit(request)).code).toBe('NONCE_WRITE_UNCONFIRMED');
    expect(await command('/failclosed/v1/fault', 'fault-command', { fault: 'nonce-store-unconfirmed', active: false })).toBe(204);
    // The unconfirmed claim counts: the same request is a replay, also after a restart.
    expect(await command('/failclosed/v1/restart', undefined, {})).toBe(204);
    expect((await submit(request)).code).toBe('REPLAY_DETECTED');
    expect(await command('/failclosed/v1/clock', 'clock-command', { offset_ms: -330_000 })).toBe(204);
    expect((await submit(b.request())).code).toBe('TIMESTAMP_FUTURE');
    expect(await command('/failclosed/v1/fault', undefined, { fault: 'disk-on-fire', active: true })).toBe(400);
    expectValid('audit-export', await auditExport());
    expect(await command('/failclosed/v1/reset', undefined, {})).toBe(204);
    expect(await auditExport()).toEqual([]);
    expect((await submit(request)).status).toBe('executed');
  });
});

describe('the test vectors agree with the schemas', () => {
  type Step = { name: string; request: unknown; body: string; expected: { codes: string[] } };
  const requests = readVectors('requests.json') as { cases: Step[]; sequences: { sequence: Step[] }[]; identity_keys: unknown[] };
  const steps = [...requests.cases, ...requests.sequences.flatMap((s) => s.sequence)];

  it('a request is schema-valid exactly when its expected codes are not structural', () => {
    const structural = new Set(['REQUEST_MALFORMED', 'NONCE_MALFORMED']);
    let malformed = 0;
    for (const step of steps) {
      const isMalformed = step.expected.codes.some((c) => structural.has(c));
      malformed += isMalformed ? 1 : 0;
      for (const value of [step.request, parseStrictJson(step.body)]) {
        if (isMalformed) expectInvalid('request', value);
        else expectValid('request', value);
      }
    }
    expect(malformed).toBeGreaterThanOrEqual(4);
  });

  it('envelopes are schema-valid exactly when validateEnvelope accepts them; only the malformed and missing ones are not', () => {
    const envelopes = readVectors('envelopes.json') as { cases: { name: string; envelope: unknown }[]; trusted_keys: unknown };
    const refused = envelopes.cases.filter((c) => !validateMessage('envelope', c.envelope).ok).map((c) => c.name);
    expect(refused.sort()).toEqual(['malformed', 'missing']);
    for (const c of envelopes.cases) expect(validateMessage('envelope', c.envelope).ok, c.name).toBe(validateEnvelope(c.envelope).ok);
    expectValid('trusted-keys', envelopes.trusted_keys);
    expectValid('identity-keys', { keys: requests.identity_keys });
  });
});

// ------------------------------------------------------------------ (c) schemas ⇔ validators

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const f = profileFormats();
const idArb = fc.stringMatching(f.id);
const nameArb = fc.stringMatching(f.name);
const digestArb = fc.stringMatching(f.digest);
const keyIdArb = fc.stringMatching(f.keyId);
const unixArb = fc.oneof(fc.integer({ min: 0, max: MAX_SAFE }), fc.constantFrom(0, MAX_SAFE));
const signatureArb = fc.uint8Array({ minLength: 64, maxLength: 64 }).map(toBase64Url);
const publicKeyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toBase64Url);
const jsonArb = fc.jsonValue({ maxDepth: 2 });
type Obj = Record<string, unknown>;

const requestArb: fc.Arbitrary<Obj> = fc.record({
  request_id: idArb,
  identity: nameArb,
  action: nameArb,
  parameters: jsonArb,
  timestamp: unixArb,
  nonce: fc.stringMatching(f.nonce),
  key_id: keyIdArb,
  signature: signatureArb,
});
const envelopeArb: fc.Arbitrary<Obj> = fc.record({
  approval_id: idArb,
  request_id: idArb,
  identity: nameArb,
  action: nameArb,
  parameters_digest: digestArb,
  issued_at: unixArb,
  expires_at: unixArb,
  key_id: keyIdArb,
  signature: signatureArb,
});
/** The fields every audit record has, and the attribution a gate adds when it knows it. */
const auditBaseArb = fc.record(
  {
    record_id: idArb,
    timestamp_ms: unixArb,
    identity: fc.oneof(nameArb, fc.constant('unknown'), fc.string()),
    request_hash: digestArb,
    trace_id: idArb,
    data_hash: digestArb,
    request_id: fc.oneof(idArb, fc.string()),
    action: fc.oneof(nameArb, fc.string()),
    prev_hash: digestArb,
    record_hash: digestArb,
  },
  { requiredKeys: ['record_id', 'timestamp_ms', 'identity', 'request_hash', 'trace_id', 'data_hash', 'prev_hash', 'record_hash'] },
);
const codeArb = fc.constantFrom(...ALL_DENIAL_CODES);
/**
 * Audit records of each kind a gate writes (intent, executed, denied before or after dispatch),
 * plus free combinations of decision, stage and the optional fields, so that the cross-field
 * rules of validateAuditRecord are exercised both ways. All six of its rules are in the schema
 * (if/then); none is validator-only or schema-only. The profile rules that span records (the
 * chain, one final per request, EXECUTION_UNCONFIRMED ⇒ outcome "unknown") are in neither:
 * verifyChain and the INV-5 predicate check them.
 */
const auditArb: fc.Arbitrary<Obj> = fc.tuple(
  auditBaseArb,
  fc.oneof(
    fc.record({ decision: fc.constant('allow'), stage: fc.constant('intent'), approval_id: idArb }),
    fc.record({ decision: fc.constant('allow'), stage: fc.constant('final'), approval_id: idArb, outcome: fc.constant('executed') }),
    fc.record({ decision: fc.constant('deny'), stage: fc.constant('final'), code: codeArb }),
    fc.record({ decision: fc.constant('deny'), stage: fc.constant('final'), code: codeArb, approval_id: idArb, outcome: fc.constantFrom('failed', 'unknown') }),
    fc.record(
      {
        decision: fc.constantFrom('allow', 'deny'),
        stage: fc.constantFrom('intent', 'final'),
        code: codeArb,
        approval_id: idArb,
        outcome: fc.constantFrom('executed', 'failed', 'unknown'),
      },
      { requiredKeys: ['decision', 'stage'] },
    ),
  ),
).map(([base, kind]) => ({ ...base, ...kind }));
const gatewayEventArb: fc.Arbitrary<Obj> = fc.record(
  {
    request_id: fc.oneof(idArb, fc.string()),
    trace_id: idArb,
    event: fc.constantFrom('accepted', 'completed', 'failed'),
    timestamp_ms: unixArb,
    code: fc.constantFrom(...ALL_DENIAL_CODES),
  },
  { requiredKeys: ['request_id', 'trace_id', 'event', 'timestamp_ms'] },
);
const identityKeyArb: fc.Arbitrary<Obj> = fc.record({ key_id: keyIdArb, identity: nameArb, public_key: publicKeyArb, state: fc.constantFrom('active', 'revoked') });
const trustedKeyArb: fc.Arbitrary<Obj> = fc.record({ key_id: keyIdArb, public_key: publicKeyArb });
const controlPlaneAnswerArb: fc.Arbitrary<Obj> = fc.oneof(
  envelopeArb.map((envelope) => ({ decision: 'allow', envelope })),
  fc.record({ decision: fc.constant('deny'), reason: fc.string() }, { requiredKeys: ['decision'] }),
);

/** Values of the wrong type, at the edges of the right one, or just anything. */
const oddValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, -0, 1.5, MAX_SAFE + 1, 1e21, -MAX_SAFE, '', 'unknown', 'sha256:', 'ed25519/', [], {}, 'allow', 'deny', 'intent', 'final', 'executed', 'REQUEST_MALFORMED'),
  fc.jsonValue({ maxDepth: 1 }),
  fc.string({ maxLength: 140 }),
);
/** Characters that sit just outside, or just inside, some profile format. */
const nearMissChar = fc.constantFrom(' ', '/', '=', '+', '.', ':', '@', '_', '-', 'é', '\n', 'A', 'g', 'w', 'F', '0', '\u0000');
const extraFieldName = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'toString', 'reason', 'code', 'outcome', 'approval_id', 'envelope', 'extra', 'Request_id'),
  fc.string({ minLength: 1, maxLength: 12 }),
);

/** One mutation of a message: drop a field, give one a value of another type, add a field, or nudge a string. */
function mutationOf(value: Obj): fc.Arbitrary<unknown> {
  const keys = Object.keys(value);
  const stringKeys = keys.filter((k) => typeof value[k] === 'string');
  const options: fc.Arbitrary<unknown>[] = [
    fc.constantFrom(...keys).map((k) => {
      const { [k]: _dropped, ...rest } = value;
      return rest;
    }),
    fc.tuple(fc.constantFrom(...keys), oddValueArb).map(([k, v]) => withField(value, k, v)),
    fc.tuple(extraFieldName, fc.jsonValue({ maxDepth: 1 })).map(([k, v]) => withField(value, k, v)),
    fc.constantFrom(null, [], 'text', 42).map((v) => v as unknown),
  ];
  if (stringKeys.length > 0) {
    options.push(
      fc.tuple(fc.constantFrom(...stringKeys), fc.nat(), nearMissChar, fc.constantFrom('insert', 'replace', 'delete', 'double')).map(([k, at, c, how]) => {
        const s = value[k] as string;
        const i = s.length === 0 ? 0 : at % s.length;
        const nudged =
          how === 'insert' ? s.slice(0, i) + c + s.slice(i)
          : how === 'replace' ? s.slice(0, i) + c + s.slice(i + 1)
          : how === 'delete' ? s.slice(0, i) + s.slice(i + 1)
          : s + s;
        return withField(value, k, nudged);
      }),
    );
  }
  return fc.oneof(...options);
}

/** Sets a field as an own data property, so `__proto__` is a field like any other (as the strict reader makes it). */
function withField(value: Obj, key: string, field: unknown): Obj {
  const copy: Obj = { ...value };
  Object.defineProperty(copy, key, { value: field, writable: true, enumerable: true, configurable: true });
  return copy;
}

/** The valid message itself, one mutation of it, or two. */
function mutated(valid: fc.Arbitrary<Obj>): fc.Arbitrary<unknown> {
  return valid.chain((v) =>
    fc.oneof(
      { weight: 1, arbitrary: fc.constant<unknown>(v) },
      { weight: 3, arbitrary: mutationOf(v) },
      {
        weight: 2,
        arbitrary: mutationOf(v).chain((m) => (typeof m === 'object' && m !== null && !Array.isArray(m) && Object.keys(m).length > 0 ? mutationOf(m as Obj) : fc.constant(m))),
      },
    ),
  );
}

interface Agreement {
  name: string;
  kind: MessageKind;
  valid: fc.Arbitrary<Obj>;
  /** the value handed to the schema, when the schema wraps the validator's unit (key lists) */
  wrap?: (value: unknown) => unknown;
  validator: (value: unknown) => { ok: boolean };
}

const AGREEMENTS: Agreement[] = [
  { name: 'validateRequest', kind: 'request', valid: requestArb, validator: validateRequest },
  { name: 'validateEnvelope', kind: 'envelope', valid: envelopeArb, validator: (v) => validateEnvelope(v) },
  { name: 'validateAuditRecord', kind: 'audit-record', valid: auditArb, validator: (v) => validateAuditRecord(v) },
  { name: 'validateGatewayEvent', kind: 'gateway-event', valid: gatewayEventArb, validator: validateGatewayEvent },
  { name: 'validateControlPlaneAnswer', kind: 'control-plane-answer', valid: controlPlaneAnswerArb, validator: validateControlPlaneAnswer },
  { name: 'validateIdentityKey', kind: 'identity-keys', valid: identityKeyArb, wrap: (k) => ({ keys: [k] }), validator: (v) => validateIdentityKey(v) },
  { name: 'validateTrustedKey', kind: 'trusted-keys', valid: trustedKeyArb, wrap: (k) => [k], validator: (v) => validateTrustedKey(v) },
];

describe('the schemas and the validators of messages.ts agree on accept/reject', () => {
  for (const a of AGREEMENTS) {
    it(`${a.kind} ⇔ ${a.name}`, () => {
      let accepted = 0;
      let rejected = 0;
      fc.assert(
        fc.property(mutated(a.valid), (value) => {
          const byValidator = a.validator(value).ok;
          const bySchema = validateMessage(a.kind, a.wrap ? a.wrap(value) : value);
          expect(bySchema.ok, `schema says ${JSON.stringify(bySchema)}`).toBe(byValidator);
          if (byValidator) accepted++;
          else rejected++;
        }),
        { numRuns: 600 },
      );
      // Both verdicts must be well represented, or the agreement says little.
      expect(accepted).toBeGreaterThan(30);
      expect(rejected).toBeGreaterThan(30);
    });
  }

  it('the audit record rules hold in every combination of decision, stage, code, approval_id and outcome', () => {
    const base = {
      record_id: 'rec-0',
      timestamp_ms: 0,
      identity: 'alice',
      request_hash: `sha256:${'1'.repeat(64)}`,
      trace_id: 'trace-1',
      data_hash: `sha256:${'2'.repeat(64)}`,
      prev_hash: `sha256:${'0'.repeat(64)}`,
      record_hash: `sha256:${'3'.repeat(64)}`,
    };
    let accepted = 0;
    for (const decision of ['allow', 'deny'])
      for (const stage of ['intent', 'final'])
        for (const code of [undefined, 'POLICY_DENIED'])
          for (const approvalId of [undefined, 'appr-1'])
            for (const outcome of [undefined, 'executed', 'failed', 'unknown']) {
              const record = {
                ...base,
                decision,
                stage,
                ...(code ? { code } : {}),
                ...(approvalId ? { approval_id: approvalId } : {}),
                ...(outcome ? { outcome } : {}),
              };
              const expected = validateAuditRecord(record).ok;
              expect(validateMessage('audit-record', record).ok, JSON.stringify(record)).toBe(expected);
              accepted += expected ? 1 : 0;
            }
    // allow: intent+approval (no outcome), final+approval+executed (1); deny final with code
    // POLICY_DENIED: approval × no outcome or "failed" (2 × 2) — "unknown" is EXECUTION_UNCONFIRMED's alone
    expect(accepted).toBe(1 + 1 + 4);
  });
});
