/**
 * Bad input over HTTP: property-based fuzzing of the three public endpoints of the reference
 * system, each started for real on loopback (ephemeral ports, temporary data directory).
 *
 *   Gate            POST /v1/requests  every body ⇒ 403 {status:"denied", code}, exactly one final
 *                                      audit record with that code under sha256(bytes sent), no effect
 *   Execution Layer POST /v1/execute   every body ⇒ 403 denied with a profile code, no effect
 *   Control Plane   POST /v1/decide    every body ⇒ 200 {decision:"deny"}, never an envelope
 *
 * Every generated input is invalid by construction (malformed, oversized, too deep, unsigned,
 * tampered, stale, policy-denied…); the valid documents the mutations start from are sent
 * verbatim only at the end, as positive controls, so that "nothing executed" cannot pass merely
 * because nothing could.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalize } from '../../model/profile/canonical-json.ts';
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import { DENIAL_CODES, isDenialCode } from '../../model/profile/denial-codes.ts';
import type { Digest } from '../../model/profile/digest.ts';
import { digestJson, sha256Digest } from '../../model/profile/digest.ts';
import { fromHex, utf8Encode } from '../../model/profile/encoding.ts';
import type { ApprovalEnvelope, ClientRequest, UnsignedRequest } from '../../model/profile/messages.ts';
import { signEnvelope, signRequest } from '../../model/profile/messages.ts';
import { checkEnvelope } from '../../model/profile/request-checks.ts';
import type { KeyId, KeyPair } from '../../model/profile/signing.ts';
import { keyPairFromSeed } from '../../model/profile/signing.ts';
import { verifyChain } from '../audit/audit-log.ts';
import type { RunningReference } from '../serve.ts';
import { startReference } from '../serve.ts';
import { parseServeConfig } from '../serve-config.ts';

// ---------------------------------------------------------------- budget

/** Per endpoint, whichever comes first (~3 s per endpoint here); three stay well under a minute on 2 cores. */
const NUM_RUNS = 1000;
const TIME_LIMIT_MS = 20_000;
/** Below this many inputs an endpoint's fuzzing proves too little to count as a pass. */
const MIN_INPUTS = 50;
const REQUEST_TIMEOUT_MS = 15_000;

// ---------------------------------------------------------------- HTTP client

interface Reply {
  status: number;
  body: Buffer;
}

/**
 * One request on a keep-alive agent with a single socket, so that each input is sent on the
 * connection the previous one used: a server that hangs up after bad input shows up here.
 */
function send(agent: Agent, url: string, method: 'GET' | 'POST', body?: Uint8Array): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, agent, headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`${method} ${url}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

function json(reply: Reply): Record<string, unknown> {
  const value: unknown = JSON.parse(reply.body.toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`answer is not a JSON object: ${reply.body.toString('utf8').slice(0, 200)}`);
  return value as Record<string, unknown>;
}

// ---------------------------------------------------------------- reference under test

interface System {
  ref: RunningReference;
  dir: string;
  agent: Agent;
  demoKey: KeyPair;
}

async function startSystem(extra: Record<string, unknown> = {}): Promise<System> {
  const dir = mkdtempSync(join(tmpdir(), 'failclosed-fuzz-'));
  // fsync off: durability is not under test here, and it keeps 900 requests fast.
  const config = parseServeConfig(JSON.stringify({ ports: { gate: 0, controlPlane: 0, executionLayer: 0 }, dataDir: join(dir, 'data'), fsync: false, ...extra }));
  const ref = await startReference(config);
  const stored = JSON.parse(readFileSync(ref.paths.demoClientKey!, 'utf8')) as { key_id: KeyId; seed_hex: string };
  const demoKey = keyPairFromSeed(stored.key_id, fromHex(stored.seed_hex)!);
  return { ref, dir, agent: new Agent({ keepAlive: true, maxSockets: 1 }), demoKey };
}

async function stopSystem(system: System | undefined): Promise<void> {
  if (!system) return;
  system.agent.destroy();
  await system.ref.close();
  rmSync(system.dir, { recursive: true, force: true });
}

function effectLines(system: System): string[] {
  return readFileSync(system.ref.paths.effects!, 'utf8').split('\n').filter((line) => line !== '');
}

async function auditRecords(system: System): Promise<Record<string, unknown>[]> {
  const reply = await send(system.agent, `${system.ref.urls.gate}/v1/audit`, 'GET');
  expect(reply.status).toBe(200);
  return JSON.parse(reply.body.toString('utf8')) as Record<string, unknown>[];
}

// ---------------------------------------------------------------- inputs

interface Input {
  kind: string;
  bytes: Uint8Array;
  /** the answers this input may get; undefined: any profile denial code */
  codes?: readonly DenialCode[];
  [fc.toStringMethod]: () => string;
}

const input = (kind: string, codes?: readonly DenialCode[]) => (data: Uint8Array | string): Input => {
  const bytes = typeof data === 'string' ? utf8Encode(data) : data;
  return {
    kind,
    bytes,
    ...(codes ? { codes } : {}),
    // A counterexample of several MiB must not flood the report: its kind, size and first bytes.
    [fc.toStringMethod]: () => `${kind} (${bytes.length} bytes): ${JSON.stringify(Buffer.from(bytes.subarray(0, 300)).toString('latin1'))}${bytes.length > 300 ? '…' : ''}`,
  };
};

const nowSec = (): number => Math.floor(Date.now() / 1000);
const freshNonce = (): string => `n${randomUUID().replaceAll('-', '')}`;
/** A key the system does not know, under a key id it may or may not know. */
const strangerKey = (keyId: KeyId): KeyPair => keyPairFromSeed(keyId, randomBytes(32));

const STRUCTURE: readonly DenialCode[] = ['REQUEST_MALFORMED', 'NONCE_MALFORMED'];
/** What a Gate must answer before it asks the Control Plane (spec §3, last row). */
const BEFORE_POLICY = (Object.keys(DENIAL_CODES) as DenialCode[]).filter((code) => ['structure', 'authentication'].includes(DENIAL_CODES[code].stage));

/** A JSON object as raw member texts, so that members can be duplicated, dropped or misspelled. */
type Members = [key: string, value: string][];
const membersOf = (value: object): Members => Object.entries(value).map(([k, v]) => [JSON.stringify(k), JSON.stringify(v)]);
const objectText = (members: Members): string => `{${members.map(([k, v]) => `${k}:${v}`).join(',')}}`;

/**
 * Values, as JSON text, of the wrong type or malformed for every named field of a request, a call
 * or a question (for `parameters`, which takes any JSON, they are simply other values).
 */
const WRONG_VALUES = [
  'null', 'true', 'false', '0', '-1', '1.5', '-0', '1e21', '1e400', '-1e400', '9007199254740993',
  '""', '" "', '"ä"', '"\\u0000"', '"has space"', '[]', '{}', '[1,2]', '{"a":1}', '"\\ud83d\\ude00"',
] as const;

/** Number spellings the strict reader must refuse or read exactly. */
const ODD_NUMBERS = ['1e400', '-1e400', '-0', '1e21', '1E21', '1e-400', '123456789012345678901234567890', '5e-324', '1.7976931348623159e308', '0.1e1', '-0.0'] as const;

/** Byte sequences that are not UTF-8. */
const BAD_UTF8: readonly number[][] = [[0xff], [0xfe], [0x80], [0xc0, 0x80], [0xc1, 0xbf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98]];

const DEEP = 1000;
const FRAGMENTS: readonly string[] = [
  '', ' ', '\n', '{', '}', '[', ']', 'null', 'true', '0', '"x"', '[]', '{}', '{"a":}', '{"a" 1}', '{,}', '[1,]', '{"a":1,}',
  "{'a':1}", '{a:1}', 'NaN', 'Infinity', '-Infinity', '01', '1.', '.5', '+1', '0x10', '"\\x41"', '"\\u12"', '"a\tb"',
  '\ufeff{}', '{}garbage', '{} {}', '/* */{}', '{}\u0000', 'nul', 'truE', '"\\ud800"', '"\\udc00x"', '{"\\ud800":1}',
  '['.repeat(DEEP) + ']'.repeat(DEEP),
  '{"a":'.repeat(DEEP) + '1' + '}'.repeat(DEEP),
  '['.repeat(DEEP),
  '['.repeat(100_000),
  `{"a":${'['.repeat(DEEP)}${']'.repeat(DEEP)}}`,
];

/** Garbage any JSON endpoint must survive; `validTexts` are what truncation and bad bytes start from. */
function genericGarbage(validTexts: readonly string[], hugeBodies: readonly Uint8Array[], codes?: readonly DenialCode[]): fc.Arbitrary<Input> {
  const valid = fc.constantFrom(...validTexts.map((text) => utf8Encode(text)));
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }).map(input('random text', codes)),
    fc.uint8Array({ maxLength: 300 }).map(input('random bytes', codes)),
    fc.json({ maxDepth: 4 }).map(input('random JSON', codes)),
    fc.constantFrom(...FRAGMENTS).map(input('malformed fragment', codes)),
    valid.chain((bytes) => fc.nat({ max: bytes.length - 1 }).map((n) => input('truncated', codes)(bytes.subarray(0, n)))),
    fc.record({ bytes: valid, at: fc.nat(), bad: fc.constantFrom(...BAD_UTF8) }).map(({ bytes, at, bad }) => {
      const i = at % (bytes.length + 1);
      return input('invalid UTF-8', codes)(Uint8Array.from([...bytes.subarray(0, i), ...bad, ...bytes.subarray(i)]));
    }),
    { arbitrary: fc.constantFrom(...hugeBodies).map(input('huge body', codes)), weight: 1 },
  );
}

/** A byte of a valid document changed to another value. */
function byteFlips(validTexts: readonly string[], kind: string, codes?: readonly DenialCode[]): fc.Arbitrary<Input> {
  return fc.record({ text: fc.constantFrom(...validTexts), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }).map(({ text, at, xor }) => {
    const bytes = utf8Encode(text).slice();
    const i = at % bytes.length;
    bytes[i] = bytes[i]! ^ xor;
    return input(kind, codes)(bytes);
  });
}

/** Mutations of the members of a valid document: drop, wrong type, duplicate, swap, prototype keys. */
function memberMutations(valid: readonly Members[], wrongValues: readonly string[], codes: { mutate?: readonly DenialCode[] } = {}): fc.Arbitrary<Input> {
  const doc = fc.constantFrom(...valid);
  return fc.oneof(
    doc.chain((m) => fc.nat({ max: m.length - 1 }).map((i) => input('drop a field', codes.mutate)(objectText(m.filter((_, j) => j !== i))))),
    doc.chain((m) =>
      fc.record({ i: fc.nat({ max: m.length - 1 }), value: fc.constantFrom(...wrongValues) }).map(({ i, value }) =>
        input('wrong type', codes.mutate)(objectText(m.map(([k, v], j) => [k, j === i ? value : v]))),
      ),
    ),
    doc.chain((m) =>
      fc.record({ i: fc.nat({ max: m.length - 1 }), same: fc.boolean(), first: fc.boolean() }).map(({ i, same, first }) => {
        const [key, value] = m[i]!;
        const duplicate: [string, string] = [key, same ? value : '"other"'];
        // Duplicate keys fail at the JSON reader, whatever the document.
        return input('duplicate key', codes.mutate ? ['REQUEST_MALFORMED'] : undefined)(objectText(first ? [duplicate, ...m] : [...m, duplicate]));
      }),
    ),
    doc.chain((m) =>
      fc.record({ i: fc.nat({ max: m.length - 1 }), j: fc.nat({ max: m.length - 1 }) })
        .filter(({ i, j }) => m[i]![1] !== m[j]![1])
        .map(({ i, j }) => input('swapped values', codes.mutate)(objectText(m.map(([k, v], n) => [k, n === i ? m[j]![1] : n === j ? m[i]![1] : v])))),
    ),
    doc.chain((m) =>
      fc.record({ i: fc.nat({ max: m.length - 1 }), key: fc.constantFrom('"__proto__"', '"constructor"', '"prototype"', '"\\u005f_proto__"', '"hasOwnProperty"', '"toString"') }).map(({ i, key }) => {
        // Hide a real field under a prototype-ish key: the object must not acquire it.
        const hidden = objectText([m[i]!]);
        return input('prototype key', codes.mutate)(objectText([...m.filter((_, j) => j !== i), [key, hidden]]));
      }),
    ),
  );
}

/** Bodies of roughly `size` bytes that are otherwise plausible JSON. */
function paddedJson(size: number, prefix = '{"pad":"', suffix = '"}'): Uint8Array {
  return utf8Encode(prefix + 'a'.repeat(Math.max(0, size - prefix.length - suffix.length)) + suffix);
}

// ---------------------------------------------------------------- the property driver

interface Outcome {
  tried: number;
  byKind: Map<string, number>;
  /** what the endpoint answered (denial code or decision), with counts */
  answers: Map<string, number>;
}

const tally = (counts: Map<string, number>): string =>
  [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([name, n]) => `${name} ${n}`).join(', ');

/**
 * Runs `check` on every generated input (bounded by NUM_RUNS and TIME_LIMIT_MS) and reports how
 * many inputs were tried. An interrupted run keeps going in the background, so its promise is
 * awaited before anything reads the system's state.
 */
async function fuzz(name: string, arbitrary: fc.Arbitrary<Input>, check: (input: Input) => Promise<string>): Promise<Outcome> {
  const outcome: Outcome = { tried: 0, byKind: new Map(), answers: new Map() };
  let running: Promise<unknown> = Promise.resolve();
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      outcome.tried++;
      outcome.byKind.set(value.kind, (outcome.byKind.get(value.kind) ?? 0) + 1);
      const answered = check(value);
      running = answered;
      const answer = await answered;
      outcome.answers.set(answer, (outcome.answers.get(answer) ?? 0) + 1);
    }),
    { numRuns: NUM_RUNS, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] },
  );
  await running.catch(() => undefined);
  console.log(`${name}: ${outcome.tried} inputs tried in ${Date.now() - started} ms\n  inputs:  ${tally(outcome.byKind)}\n  answers: ${tally(outcome.answers)}`);
  expect(outcome.tried).toBeGreaterThanOrEqual(MIN_INPUTS);
  return outcome;
}

// ================================================================ Gate

describe('Gate POST /v1/requests under bad input', () => {
  let system: System | undefined;
  beforeAll(async () => {
    system = await startSystem();
  });
  afterAll(() => stopSystem(system));

  it('denies every bad body with a profile code, audits it once under the hash of its bytes, and executes nothing', async () => {
    const s = system!;
    const gateUrl = `${s.ref.urls.gate}/v1/requests`;
    const sign = (fields: Partial<UnsignedRequest>, key: KeyPair = s.demoKey): ClientRequest =>
      signRequest({ request_id: `req-${randomUUID()}`, identity: 'demo', action: 'demo.echo', parameters: { message: 'hello' }, timestamp: nowSec(), nonce: freshNonce(), key_id: key.keyId, ...fields }, key);

    // Valid, fresh, allowed requests: mutated below, sent verbatim only at the end.
    const valid = Array.from({ length: 6 }, (_, i) => sign({ parameters: i % 2 ? { message: `hello ${i}`, n: i } : [i, 'x', { deep: { er: null } }] }));
    const validTexts = valid.map((r) => JSON.stringify(r));
    const validMembers = valid.map(membersOf);

    // Oversized but otherwise valid requests: only the size limit stands between them and an effect.
    const oversized = (size: number): Uint8Array => {
      const probe = JSON.stringify(sign({ parameters: { pad: '' } }));
      return utf8Encode(JSON.stringify(sign({ parameters: { pad: 'a'.repeat(size - utf8Encode(probe).length) } })));
    };
    const limit = s.ref.gate.settings.maxBodyBytes;
    const huge = [oversized(limit + 1), oversized(70 * 1024), oversized(3 * 1024 * 1024)];
    expect(huge.map((b) => b.length)).toEqual([limit + 1, 70 * 1024, 3 * 1024 * 1024]);
    // Too deep but otherwise valid (the request object is one level, the parameters the rest).
    const nested = (depth: number, object: boolean): JsonValue => {
      let v: JsonValue = 'x';
      for (let i = 0; i < depth; i++) v = object ? { k: v } : [v];
      return v;
    };
    const tooDeep = [32, 64, DEEP].flatMap((d) => [JSON.stringify(sign({ parameters: nested(d, false) })), JSON.stringify(sign({ parameters: nested(d, true) }))]);

    // Requests that verify but must be refused further on.
    const signedButRefused = fc.oneof(
      fc.record({ action: fc.constantFrom('demo.other', 'payments.transfer', 'demo.echo2'), parameters: fc.jsonValue({ maxDepth: 3 }) }).map(({ action, parameters }) =>
        input('signed, policy denies', ['POLICY_DENIED', 'REPLAY_DETECTED'])(JSON.stringify(sign({ action, parameters: parameters as JsonValue }))),
      ),
      // Far enough outside that a second passing between signing and checking cannot bring them in.
      fc.constantFrom(-3600, -301, 600, 3600, -nowSec()).map((offset) =>
        input('signed, outside the window', offset < 0 ? ['TIMESTAMP_STALE'] : ['TIMESTAMP_FUTURE'])(JSON.stringify(sign({ timestamp: nowSec() + offset }))),
      ),
      fc.constantFrom<KeyId>('ed25519/demo-1', 'ed25519/nobody', 'ed25519/control-plane-1').map((keyId) =>
        input('signed by a stranger', keyId === s.demoKey.keyId ? ['SIGNATURE_INVALID'] : ['KEY_UNKNOWN'])(JSON.stringify(sign({}, strangerKey(keyId)))),
      ),
      fc.constantFrom('mallory', 'demo2', 'Demo').map((identity) => input('signed for another identity', ['KEY_UNKNOWN'])(JSON.stringify(sign({ identity })))),
      fc.constantFrom('short', 'x'.repeat(129), 'has+plus/slash===', 'ä'.repeat(20), '', 'a b c d e f g h i j').map((nonce) =>
        input('signed, malformed nonce', ['NONCE_MALFORMED'])(JSON.stringify(sign({ nonce }))),
      ),
      // Number spellings: the Gate must read them exactly as the signer canonicalized them.
      fc.constantFrom(...ODD_NUMBERS).map((spelling) => {
        const request = sign({ action: 'demo.other', parameters: { n: 0 } });
        let value: unknown;
        try {
          value = JSON.parse(spelling);
        } catch {
          value = undefined;
        }
        const finite = typeof value === 'number' && Number.isFinite(value);
        const resigned = finite ? sign({ action: 'demo.other', parameters: { n: value as number } }) : request;
        const text = JSON.stringify(resigned).replace(/"parameters":\{"n":[^}]*\}/, `"parameters":{"n":${spelling}}`);
        return input('odd number', finite ? ['POLICY_DENIED', 'REPLAY_DETECTED'] : ['REQUEST_MALFORMED'])(text);
      }),
      fc.constantFrom(...ODD_NUMBERS).map((spelling) =>
        input('odd timestamp', BEFORE_POLICY)(JSON.stringify(valid[0]).replace(/"timestamp":\d+/, `"timestamp":${spelling}`)),
      ),
    );

    // The signature field itself: lengths, alphabets, padding, spare bits.
    const signature = valid[0]!.signature;
    const badSignatures = [
      '', 'A', signature.slice(0, 85), `${signature}A`, `${signature}==`, `${signature.slice(0, 84)}==`, signature.replaceAll('-', '+').replaceAll('_', '/'),
      `${signature.slice(0, 85)}B`, // the last character carries 4 spare bits: non-zero ones are a second spelling
      'A'.repeat(86), '_'.repeat(86), `${signature.slice(0, 43)} ${signature.slice(44)}`, Buffer.from(randomBytes(64)).toString('base64'),
    ];
    const signatureGarbage = fc.record({ i: fc.nat({ max: valid.length - 1 }), sig: fc.constantFrom(...badSignatures) }).filter(({ i, sig }) => sig !== valid[i]!.signature).map(({ i, sig }) =>
      input('bad signature', BEFORE_POLICY)(JSON.stringify({ ...valid[i]!, signature: sig })),
    );

    const arbitrary = fc.oneof(
      { arbitrary: genericGarbage(validTexts, huge, STRUCTURE), weight: 7 },
      { arbitrary: fc.constantFrom(...tooDeep).map(input('too deep', ['REQUEST_MALFORMED'])), weight: 1 },
      { arbitrary: memberMutations(validMembers, WRONG_VALUES, { mutate: BEFORE_POLICY }), weight: 5 },
      { arbitrary: byteFlips(validTexts, 'changed byte', BEFORE_POLICY), weight: 2 },
      { arbitrary: signatureGarbage, weight: 1 },
      { arbitrary: signedButRefused, weight: 4 },
    );

    const sent: { hash: Digest; code: unknown }[] = [];
    const before = await auditRecords(s);
    await fuzz('Gate POST /v1/requests', arbitrary, async (value) => {
      const reply = await send(s.agent, gateUrl, 'POST', value.bytes);
      const answer = json(reply);
      sent.push({ hash: sha256Digest(value.bytes), code: answer.code });
      expect(reply.status, value.kind).toBe(403);
      expect(answer.status, value.kind).toBe('denied');
      expect(isDenialCode(answer.code), `${value.kind}: ${String(answer.code)}`).toBe(true);
      if (value.codes) expect(value.codes, value.kind).toContain(answer.code);
      expect(answer.effect_id).toBeUndefined();
      expect(effectLines(s)).toEqual([]);
      // The same connection keeps serving.
      expect((await send(s.agent, `${s.ref.urls.gate}/healthz`, 'GET')).status).toBe(200);
      return String(answer.code);
    });

    // Exactly one final record per input, in order, with the answer's code and the hash of the bytes.
    const records = await auditRecords(s);
    expect(verifyChain(records)).toEqual({ ok: true });
    const added = records.slice(before.length);
    expect(added.length).toBe(sent.length);
    added.forEach((record, i) => {
      expect(record.stage).toBe('final');
      expect(record.decision).toBe('deny');
      expect(record.code).toBe(sent[i]!.code);
      expect(record.request_hash).toBe(sent[i]!.hash);
    });
    expect(effectLines(s)).toEqual([]);
    expect((await send(s.agent, `${s.ref.urls.gate}/healthz`, 'GET')).status).toBe(200);

    // Positive control: the documents every mutation started from were never spent by one.
    for (const text of validTexts) {
      const reply = await send(s.agent, gateUrl, 'POST', utf8Encode(text));
      expect(json(reply), text.slice(0, 120)).toMatchObject({ status: 'executed' });
      expect(reply.status).toBe(200);
    }
    expect(effectLines(s)).toHaveLength(validTexts.length);
    expect(verifyChain(await auditRecords(s))).toEqual({ ok: true });
  });
});

// ================================================================ Execution Layer

describe('Execution Layer POST /v1/execute under bad input', () => {
  let system: System | undefined;
  // A long envelope lifetime keeps the genuine envelope valid through the whole run.
  beforeAll(async () => {
    system = await startSystem({ envelopeTtlSec: 3600 });
  });
  afterAll(() => stopSystem(system));

  it('denies every bad call with a profile code and executes nothing', async () => {
    const s = system!;
    const executeUrl = `${s.ref.urls.executionLayer}/v1/execute`;
    const parameters: JsonValue = { message: 'execution fuzz', amount: 42, tags: ['a', 'b'] };
    const requestId = `req-${randomUUID()}`;
    const question = { request_id: requestId, identity: 'demo', action: 'demo.echo', parameters, parameters_digest: digestJson(parameters) };
    const decided = json(await send(s.agent, `${s.ref.urls.controlPlane}/v1/decide`, 'POST', utf8Encode(JSON.stringify(question))));
    expect(decided.decision).toBe('allow');
    const envelope = decided.envelope as ApprovalEnvelope;
    const call = { envelope, request_id: requestId, identity: 'demo', action: 'demo.echo', parameters };
    const callText = canonicalize(call);
    const forge = (fields: Partial<ApprovalEnvelope>, key: KeyPair): ApprovalEnvelope => {
      const { signature: _dropped, ...unsigned } = { ...envelope, ...fields, key_id: key.keyId };
      return signEnvelope(unsigned, key);
    };
    const withEnvelope = (value: unknown) => canonicalize({ ...call, envelope: value as JsonValue });
    const { envelope: _envelope, ...bareCall } = call;

    const otherParameters = fc.jsonValue({ maxDepth: 3 }).filter((p) => {
      try {
        return digestJson(p) !== envelope.parameters_digest;
      } catch {
        return false;
      }
    });
    const envelopeGarbage = fc.oneof(
      fc.constant(input('no envelope', ['ENVELOPE_MISSING'])(canonicalize(bareCall))),
      fc.constantFrom(...WRONG_VALUES).map((v) => input('envelope of a wrong type')(callText.replace(/^\{"action":"demo.echo","envelope":\{[^}]*\}/, `{"action":"demo.echo","envelope":${v}`))),
      fc.constantFrom<KeyId>(envelope.key_id, 'ed25519/control-plane-2', 'ed25519/demo-1').map((keyId) =>
        input('forged envelope', ['ENVELOPE_SIGNATURE_INVALID'])(withEnvelope(forge({}, strangerKey(keyId)))),
      ),
      fc.constantFrom(-7200, 7200).map((shift) =>
        input('forged window', ['ENVELOPE_SIGNATURE_INVALID'])(withEnvelope(forge({ issued_at: envelope.issued_at + shift, expires_at: envelope.expires_at + shift }, strangerKey(envelope.key_id)))),
      ),
      fc.constantFrom('', 'A', envelope.signature.slice(0, 85), `${envelope.signature}A`, `${envelope.signature}==`, envelope.signature.replaceAll('-', '+').replaceAll('_', '/'), `${envelope.signature.slice(0, 85)}B`, 'A'.repeat(86))
        .filter((sig) => sig !== envelope.signature)
        .map((sig) =>
        input('bad envelope signature', ['ENVELOPE_SIGNATURE_INVALID'])(withEnvelope({ ...envelope, signature: sig })),
      ),
      // A genuine signature over fields that were changed afterwards.
      fc.record({
        field: fc.constantFrom('approval_id', 'request_id', 'identity', 'action', 'parameters_digest', 'issued_at', 'expires_at', 'key_id'),
        value: fc.constantFrom<JsonValue>('approval-x', 'req-x', 'demo', 'demo.echo', digestJson({}), 0, 1, 4_102_444_800, 'ed25519/control-plane-2', null, [], {}, 1e21, -1, '', 'sha256:' + 'A'.repeat(64)),
      })
        .filter(({ field, value }) => canonicalize(value) !== canonicalize((envelope as unknown as Record<string, JsonValue>)[field]!))
        .map(({ field, value }) => input('tampered envelope', ['ENVELOPE_SIGNATURE_INVALID'])(withEnvelope({ ...envelope, [field]: value }))),
      // The genuine envelope, presented for something else.
      fc.oneof(
        fc.constantFrom('req-other', `${requestId}x`, requestId.toUpperCase()).map((request_id) => ({ request_id })),
        fc.constantFrom('mallory', 'demo2').map((identity) => ({ identity })),
        fc.constantFrom('demo.other', 'demo.echo.', 'payments.transfer').map((action) => ({ action })),
        otherParameters.map((p) => ({ parameters: p })),
      ).map((change) => input('envelope for another call', ['ENVELOPE_BINDING_MISMATCH'])(canonicalize({ ...call, ...change }))),
      // The genuine envelope hidden where only a prototype would find it.
      fc.constantFrom('"__proto__"', '"constructor"', '"\\u005f_proto__"').map((key) =>
        input('envelope behind a prototype key', ['ENVELOPE_MISSING'])(objectText([...membersOf(bareCall), [key, objectText([['"envelope"', canonicalize(envelope)]])]])),
      ),
    );

    const callMembers = membersOf(call);
    const arbitrary = fc.oneof(
      { arbitrary: genericGarbage([callText], [paddedJson(256 * 1024 + 1), paddedJson(3 * 1024 * 1024)], ['REQUEST_MALFORMED']), weight: 6 },
      // Any change to a genuine call must leave it unexecutable.
      { arbitrary: memberMutations([callMembers], WRONG_VALUES), weight: 4 },
      { arbitrary: byteFlips([callText], 'changed byte'), weight: 2 },
      { arbitrary: envelopeGarbage, weight: 6 },
    );

    await fuzz('Execution Layer POST /v1/execute', arbitrary, async (value) => {
      const reply = await send(s.agent, executeUrl, 'POST', value.bytes);
      const answer = json(reply);
      expect(reply.status, value.kind).toBe(403);
      expect(answer.status, value.kind).toBe('denied');
      expect(isDenialCode(answer.code), `${value.kind}: ${String(answer.code)}`).toBe(true);
      if (value.codes) expect(value.codes, value.kind).toContain(answer.code);
      expect(effectLines(s)).toEqual([]);
      expect((await send(s.agent, `${s.ref.urls.executionLayer}/healthz`, 'GET')).status).toBe(200);
      return String(answer.code);
    });
    expect(effectLines(s)).toEqual([]);

    // Positive control: the genuine call executes, once, so no bad one consumed its approval.
    const reply = await send(s.agent, executeUrl, 'POST', utf8Encode(callText));
    expect(json(reply)).toMatchObject({ status: 'executed', approval_id: envelope.approval_id });
    expect(effectLines(s)).toHaveLength(1);
    expect(json(await send(s.agent, executeUrl, 'POST', utf8Encode(callText)))).toMatchObject({ status: 'denied', code: 'ENVELOPE_REPLAYED' });
  });
});

// ================================================================ Control Plane

describe('Control Plane POST /v1/decide under bad input', () => {
  let system: System | undefined;
  beforeAll(async () => {
    system = await startSystem();
  });
  afterAll(() => stopSystem(system));

  it('answers every bad question with a deny and never an envelope', async () => {
    const s = system!;
    const decideUrl = `${s.ref.urls.controlPlane}/v1/decide`;
    const parameters: JsonValue = { message: 'policy fuzz', n: 1 };
    const question = (fields: Record<string, JsonValue> = {}) => ({ request_id: `req-${randomUUID()}`, identity: 'demo', action: 'demo.echo', parameters, parameters_digest: digestJson(parameters), ...fields });
    const allowed = [question(), question({ parameters: [1, 2, 3], parameters_digest: digestJson([1, 2, 3]) })];
    // Denied by policy whatever a byte flip does to them: no single byte turns them into "demo"/"demo.echo".
    const refused = [question({ identity: 'mallory' }), question({ action: 'payments.transfer' }), question({ identity: 'mallory', action: 'admin.delete' })];

    // For fields checked by pattern, wrong values must really be wrong ("x" is a fine request_id).
    const notAName = WRONG_VALUES.filter((v) => !/^"[A-Za-z0-9._:@/-]+"$/.test(v));
    const badDigests = ['null', '""', '"sha256:"', `"${digestJson({}).toUpperCase()}"`, `"${digestJson(parameters).replace('sha256:', 'SHA256:')}"`, `"${digestJson(parameters).slice(0, -1)}"`, `"${digestJson(parameters)} "`, `"${digestJson({})}"`, '1', '[]'];
    const questionShaped = fc.oneof(
      memberMutations(allowed.map(membersOf), notAName),
      fc.record({ q: fc.constantFrom(...allowed), digest: fc.constantFrom(...badDigests) }).map(({ q, digest }) =>
        input('wrong parameters digest')(objectText(membersOf(q).map(([k, v]) => [k, k === '"parameters_digest"' ? digest : v]))),
      ),
      fc.constantFrom(...allowed).chain((q) =>
        fc.jsonValue({ maxDepth: 3 })
          .filter((p) => canonicalize(p) !== canonicalize(q.parameters))
          .map((p) => input('parameters swapped after digest')(canonicalize({ ...q, parameters: p }))),
      ),
      fc.constantFrom(...refused).map((q) => input('policy denies')(JSON.stringify(q))),
      memberMutations(refused.map(membersOf), WRONG_VALUES),
      byteFlips(refused.map((q) => JSON.stringify(q)), 'changed byte'),
      // Spellings of another number than 1 (0.1e1 is 1, and would rightly be allowed).
      fc.constantFrom(...ODD_NUMBERS.filter((n) => n !== '0.1e1')).map((n) => input('odd number')(JSON.stringify(allowed[0]).replace('"n":1', `"n":${n}`))),
    );

    const arbitrary = fc.oneof(
      { arbitrary: genericGarbage([...allowed, ...refused].map((q) => JSON.stringify(q)), [paddedJson(256 * 1024 + 1), paddedJson(3 * 1024 * 1024)]), weight: 6 },
      { arbitrary: questionShaped, weight: 6 },
    );

    await fuzz('Control Plane POST /v1/decide', arbitrary, async (value) => {
      const reply = await send(s.agent, decideUrl, 'POST', value.bytes);
      expect(reply.status, value.kind).toBe(200);
      const answer = json(reply);
      expect(answer.decision, `${value.kind}: ${reply.body.toString('utf8').slice(0, 200)}`).toBe('deny');
      expect(answer.envelope).toBeUndefined();
      expect((await send(s.agent, `${s.ref.urls.controlPlane}/healthz`, 'GET')).status).toBe(200);
      return String(answer.decision);
    });

    // Positive control: the questions the mutations started from are allowed, with a valid envelope.
    for (const q of allowed) {
      const answer = json(await send(s.agent, decideUrl, 'POST', utf8Encode(JSON.stringify(q))));
      expect(answer.decision).toBe('allow');
      expect(checkEnvelope(answer.envelope, q, s.ref.controlPlaneKeys, nowSec())).toEqual([]);
    }
  });
});
