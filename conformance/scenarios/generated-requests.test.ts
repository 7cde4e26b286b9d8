/**
 * Generated data in generated spellings, against the reference and against gates that bind the
 * bytes instead of the value: the reference accepts every spelling and every limit value; a gate
 * that digests the client's key order, rounds numbers or checks its signature over the bytes
 * fails INV-2 with both spellings in the counterexample.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { TEST_KEYS } from '../../model/history-builder.ts';
import { checkInvariants } from '../../model/invariants/index.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalize, parseStrictJson } from '../../model/profile/canonical-json.ts';
import { fromBase64Url, utf8Encode } from '../../model/profile/encoding.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { InProcessDriver } from '../../harness/drivers/in-process.ts';
import { Gate } from '../../reference-impl/gate/gate.ts';
import type { InProcessTarget } from '../in-process-target.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import { EDGE_DATA, GeneratedRequest, RefusedSpelling, dataPreludeCommands, scenarioNamed } from '../commands/data-commands.ts';
import { CANONICAL_SPELLING, FIXED_SPELLINGS } from '../generators/json-spelling.ts';
import { jsonDepth, objectOf } from '../generators/json-values.ts';
import { digestClientKeyOrder } from '../mutants/digest-client-key-order.ts';
import { parametersRoundedTo6Decimals } from '../mutants/parameters-rounded-to-6-decimals.ts';
import { ACCEPTANCE_WINDOW_SEC, createHarness } from '../runner.ts';
import { ConformanceFailure, RunContext } from '../run-context.ts';
import { MAX_ACCEPTED_BYTES, REFUSED_SPELLINGS, laxCanonicalize, refusedBody } from './generated-requests.ts';

function contextFor(target: InProcessTarget) {
  const harness = createHarness();
  const driver = new InProcessDriver(target, harness);
  const ctx = new RunContext(driver, harness.controlPlane, harness.recorder, ACCEPTANCE_WINDOW_SEC, 'spell');
  const verdicts = async () => {
    await driver.settle();
    return checkInvariants(harness.recorder.build(await driver.auditExport(), true));
  };
  const bodies = () => harness.recorder.events.flatMap((e) => (e.kind === 'request' ? [fromBase64Url(e.body)!] : []));
  return { ctx, verdicts, bodies };
}

async function failureOf(promise: Promise<unknown>): Promise<ConformanceFailure> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConformanceFailure) return error;
    throw error;
  }
  throw new Error('expected a ConformanceFailure');
}

const healthy = () => scenarioNamed('healthy');
const smallData = { ...EDGE_DATA, parameters: objectOf([['b', 1], ['a', 2]]) };

/**
 * Verifies the request signature over the bytes it received rather than over their canonical
 * form: any other spelling than the canonical one fails, as a forged signature would.
 */
class BytesBoundGate extends Gate {
  override async handle(body: Uint8Array) {
    const text = new TextDecoder().decode(body);
    let canonical: string | undefined;
    try {
      canonical = canonicalize(parseStrictJson(body));
    } catch {
      canonical = undefined;
    }
    if (canonical === undefined || canonical === text) return super.handle(body);
    return super.handle(utf8Encode(canonical.replace(/"signature":"[^"]*"/, `"signature":"${'A'.repeat(86)}"`)));
  }
}

describe('generated requests in generated spellings', () => {
  it('the reference accepts every spelling, the limits and the refused spellings as the model says', async () => {
    const { ctx, verdicts, bodies } = contextFor(referenceTarget());
    // the prelude's commands, one after another, then the history is judged
    for (const command of dataPreludeCommands()) await command.run({}, ctx);
    for (const verdict of await verdicts()) expect(verdict.violations, verdict.invariant).toEqual([]);
    const sizes = bodies().map((b) => b.length);
    expect(sizes).toContain(MAX_ACCEPTED_BYTES);
    const depths = bodies().flatMap((b) => {
      try {
        return [jsonDepth(parseStrictJson(b))];
      } catch {
        return [];
      }
    });
    expect(Math.max(...depths)).toBe(32);
    expect(ctx.trail.filter((l) => /expected executed, 1 effect\(s\); observed executed, 1 effect/.test(l)).length).toBeGreaterThanOrEqual(FIXED_SPELLINGS.length + 2);
  }, 60_000);

  it('sends scalar parameters as they are, null included', async () => {
    const { ctx, verdicts } = contextFor(referenceTarget());
    for (const parameters of [null, 0, -0, '', [], {}]) await new GeneratedRequest(healthy(), { ...smallData, parameters }, FIXED_SPELLINGS[6]!).run({}, ctx);
    for (const verdict of await verdicts()) expect(verdict.violations, verdict.invariant).toEqual([]);
    const asked = ctx.recorder.events.flatMap((e) => (e.kind === 'policy' ? [canonicalize((e.question as { parameters: JsonValue }).parameters)] : []));
    expect(asked).toEqual(['null', '0', '0', '""', '[]', '{}']);
  });

  it('catches a digest over the client key order, only in another spelling, with both spellings shown', async () => {
    const { ctx } = contextFor(digestClientKeyOrder.target);
    // canonical bytes without integer-like keys: JSON.stringify of the parsed value is the canonical form
    await new GeneratedRequest(healthy(), smallData, CANONICAL_SPELLING).run({}, ctx);
    const failure = await failureOf(new GeneratedRequest(healthy(), smallData, FIXED_SPELLINGS[0]!).run({}, ctx));
    expect(failure.invariants).toEqual(['INV-2']);
    expect(failure.message).toMatch(/parameters_digest sha256:\S+, but the parameters it sent .* have the canonical digest/);
    expect(failure.message).toContain('bytes sent:');
    expect(failure.message).toContain('"parameters":{"b":1,"a":2}');
    expect(failure.message).toContain('their canonical form: {"action":"payments.transfer"');
  });

  it('catches parameters that changed after the signature verified, showing what the Gate sent', async () => {
    const { ctx } = contextFor(parametersRoundedTo6Decimals.target);
    const failure = await failureOf(new GeneratedRequest(healthy(), { ...smallData, parameters: { amount: 0.1 + 0.2 } }, CANONICAL_SPELLING).run({}, ctx));
    expect(failure.invariants).toEqual(['INV-2']);
    expect(failure.message).toContain('with other parameters than the client signed');
    expect(failure.message).toContain('{"amount":0.30000000000000004}');
    expect(failure.message).toContain('{"amount":0.3}');
  });

  it('calls a gate that refuses another spelling of a valid request an INV-2 failure, after the canonical spelling passed', async () => {
    const { ctx } = contextFor(referenceTarget('bytes-bound', { makeGate: (deps) => new BytesBoundGate(deps) }));
    const failure = await failureOf(new GeneratedRequest(healthy(), smallData, FIXED_SPELLINGS[1]!).run({}, ctx));
    expect(failure.invariants).toContain('INV-2');
    expect(failure.message).toMatch(/observed denied with SIGNATURE_INVALID/);
    expect(failure.message).toContain('the same value spelt canonically was answered as the model predicts');
    expect(failure.message).toContain('bytes sent:');
  });

  it('does not blame the spelling when the canonical spelling fails too', async () => {
    const { ctx } = contextFor(parametersRoundedTo6Decimals.target);
    // rounded parameters, but its own digest: the question binds other parameters — INV-2 by the binding check
    const failure = await failureOf(new GeneratedRequest(scenarioNamed('controlPlane.deny'), { ...smallData, parameters: [5e-324] }, FIXED_SPELLINGS[0]!).run({}, ctx));
    expect(failure.invariants).toEqual(['INV-2']);
  });

  it('refused spellings: the strict reader refuses each; a lax one reads the lone surrogates, and the signature verifies for it', () => {
    const { ctx } = contextFor(referenceTarget());
    const request = JSON.parse(canonicalize({
      action: 'payments.transfer', identity: 'alice', key_id: 'ed25519/alice', nonce: 'n'.repeat(16), parameters: { a: { b: 'x' } }, request_id: 'r-1', signature: 'A'.repeat(86), timestamp: ctx.nowSec(),
    })) as ClientRequest;
    for (const kind of REFUSED_SPELLINGS) {
      const body = refusedBody(kind, request);
      expect(() => parseStrictJson(body), kind).toThrow();
      if (kind.includes('surrogate')) {
        const lax = JSON.parse(new TextDecoder().decode(body)) as { [key: string]: JsonValue };
        const { signature, ...rest } = lax;
        expect(ed25519.verify(fromBase64Url(String(signature))!, utf8Encode(laxCanonicalize(rest)), TEST_KEYS.alice.publicKey), kind).toBe(true);
      }
    }
  });

  it('the reference refuses every refused spelling with REQUEST_MALFORMED, nothing executed', async () => {
    const { ctx, verdicts } = contextFor(referenceTarget());
    for (const kind of REFUSED_SPELLINGS) await new RefusedSpelling(kind, EDGE_DATA).run({}, ctx);
    expect(ctx.trail.every((l) => l.includes('observed denied with REQUEST_MALFORMED, 0 effect(s)'))).toBe(true);
    for (const verdict of await verdicts()) expect(verdict.violations, verdict.invariant).toEqual([]);
  });
});
