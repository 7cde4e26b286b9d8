/**
 * `failclosed doctor`: checks a gate against the contract before any test, and says precisely
 * what is missing. `--print-config` prints the configuration the harness expects a gate to have.
 */
import { canonicalBytes } from '../../model/profile/canonical-json.ts';
import { concreteRequest } from '../../model/concrete-scenario.ts';
import { sha256Digest } from '../../model/profile/digest.ts';
import { utf8Encode } from '../../model/profile/encoding.ts';
import { isDenialCode } from '../../model/profile/denial-codes.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { verifyChain } from '../../reference-impl/audit/audit-log.ts';
import type { MessageKind } from '../../conformance/contract/schemas.ts';
import { validateMessage } from '../../conformance/contract/schemas.ts';
import { createHarness } from '../../conformance/runner.ts';
import type { Harness } from '../../conformance/runner.ts';
import { HarnessError, fetchHello } from '../drivers/http.ts';
import { DEFAULT_HARNESS_PORT, harnessPorts, startHttpHarness } from '../http-harness.ts';
import type { CommandIO, CommandSpec } from './command.ts';
import { targetSpecOf } from './run-command.ts';

type Mark = 'ok' | 'missing' | 'optional';

interface Check {
  mark: Mark;
  what: string;
  detail?: string;
}

/** The environment a gate needs to be tested by a harness on `host:base…base+2`. */
export function expectedConfiguration(harness: Harness, host: string, base: number): Record<string, string> {
  const ports = harnessPorts(base);
  return {
    FAILCLOSED_CONTROL_PLANE_URL: `http://${host}:${ports.controlPlane}`,
    FAILCLOSED_CONTROL_PLANE_KEYS: JSON.stringify(harness.trustedKeys),
    FAILCLOSED_EFFECT_SINK_URL: `http://${host}:${ports.effectSink}`,
    FAILCLOSED_EXECUTION_LAYER_URL: `http://${host}:${ports.executionProxy}`,
    FAILCLOSED_IDENTITY_KEYS: JSON.stringify({ keys: harness.identityKeys }),
    FAILCLOSED_ACCEPTANCE_WINDOW_SEC: String(harness.settings.acceptanceWindowSec),
    FAILCLOSED_CONFORMANCE_CHANNEL: '1',
  };
}

/** One exchange with the gate: status, body text, and the body as JSON when it is JSON. */
async function exchange(url: URL, body?: Uint8Array): Promise<{ status: number; value: unknown; text: string }> {
  const response = await fetch(url, {
    signal: AbortSignal.timeout(10_000),
    ...(body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body } : {}),
  });
  const text = await response.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  return { status: response.status, value, text };
}

function schemaProblems(kind: MessageKind, value: unknown): string | undefined {
  const result = validateMessage(kind, value);
  return result.ok ? undefined : `does not match ${kind}.schema.json: ${result.errors.slice(0, 3).join('; ')}`;
}

/** Runs every check; resolves to the list (a thrown HarnessError means the gate is unreachable). */
export async function diagnose(gateUrl: string, host: string, base: number): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (mark: Mark, what: string, detail?: string) => checks.push({ mark, what, ...(detail ? { detail } : {}) });
  const url = (path: string) => new URL(path, gateUrl);

  let health;
  try {
    health = await exchange(url('/healthz'));
  } catch (error) {
    throw new HarnessError(`${gateUrl} cannot be reached: ${(error as Error).message}`);
  }
  const healthProblem = health.status === 200 ? schemaProblems('health', health.value) : `answered HTTP ${health.status}`;
  add(healthProblem ? 'missing' : 'ok', 'GET /healthz answers 200 {"status":"ok"}', healthProblem);

  const hello = await fetchHello(gateUrl).catch((error: Error) => error);
  if (hello instanceof Error) add('missing', 'GET /failclosed/v1/hello is a failclosed-control/1 handshake', hello.message);
  else if (hello === undefined) add('optional', 'no conformance control channel (404): reset, store and audit faults, clock skew and restarts will be reported as not tested');
  else {
    const problem = schemaProblems('hello', hello);
    add(problem ? 'missing' : 'ok', `control channel offers: ${hello.capabilities.join(', ') || 'nothing'}`, problem);
    if (!hello.execution_layer_url) add('optional', 'no execution_layer_url in the handshake: direct calls to the Execution Layer (INV-6) will be reported as not tested');
    if (!hello.capabilities.includes('reset')) add('optional', 'no reset: only the prelude can be judged, not random command sequences');
  }

  // A malformed request must be denied with a code and audited by the hash of its bytes.
  const malformed = utf8Encode('{"request_id":"doctor-malformed"');
  const denied = await exchange(url('/v1/requests'), malformed);
  const deniedProblem =
    denied.status !== 403 ? `answered HTTP ${denied.status} (a denial is 403)`
    : schemaProblems('gate-answer', denied.value) ?? ((denied.value as { code?: string }).code === 'REQUEST_MALFORMED' ? undefined : `code ${(denied.value as { code?: string }).code} is not REQUEST_MALFORMED`);
  add(deniedProblem ? 'missing' : 'ok', 'a malformed request is denied 403 with REQUEST_MALFORMED', deniedProblem);

  // The full path: the harness plays the Control Plane and receives the effect.
  const harness = createHarness();
  let services;
  try {
    services = await startHttpHarness(harness, { host, ports: harnessPorts(base) });
  } catch (error) {
    add('missing', `the harness services on ${host}:${base}…${base + 2}`, `cannot listen: ${(error as Error).message}`);
    return checks;
  }
  try {
    if (hello && !(hello instanceof Error) && hello.execution_layer_url) await services.proxyExecutionLayer(hello.execution_layer_url);
    const now = Math.floor(Date.now() / 1000);
    const request = concreteRequest({}, { request_id: `doctor-${now}`, action: 'payments.transfer', parameters: { to: 'bob', amount: 1 }, nonce: `doctor-nonce-${now}-${process.pid}` }, now, harness.settings.acceptanceWindowSec) as ClientRequest;
    harness.controlPlane.answer({ answers: {}, approvalId: `doctor-approval-${now}` });
    const executed = await exchange(url('/v1/requests'), canonicalBytes(request));
    harness.controlPlane.answer(undefined);
    const events = harness.recorder.events;
    const asked = events.some((e) => e.kind === 'policy');
    const effects = events.filter((e) => e.kind === 'effect').length;
    add(asked ? 'ok' : 'missing', `the Gate asks the Control Plane at FAILCLOSED_CONTROL_PLANE_URL (${services.controlPlaneUrl})`, asked ? undefined : 'no question arrived');
    const executedProblem =
      executed.status !== 200 ? `answered HTTP ${executed.status}: ${executed.text.slice(0, 200)}`
      : schemaProblems('gate-answer', executed.value) ?? ((executed.value as { status?: string }).status === 'executed' ? undefined : 'status is not "executed"');
    add(executedProblem ? 'missing' : 'ok', 'a valid, approved request executes (200, status "executed")', executedProblem);
    add(effects === 1 ? 'ok' : 'missing', `its effect is reported to FAILCLOSED_EFFECT_SINK_URL (${services.effectSinkUrl})`, effects === 1 ? undefined : `${effects} effect reports arrived`);
    if (services.executionProxy) {
      const used = services.executionProxy.forwarded > 0;
      add(used ? 'ok' : 'optional', `the Gate reaches its Execution Layer through FAILCLOSED_EXECUTION_LAYER_URL (${services.executionProxyUrl})`, used ? undefined : 'nothing passed the proxy: partitions and tampering on that link will not be tested');
    }

    const audit = await exchange(url('/v1/audit'));
    let auditProblem = audit.status !== 200 ? `answered HTTP ${audit.status}` : schemaProblems('audit-export', audit.value);
    if (!auditProblem) {
      const records = audit.value as { request_hash: string; stage: string; decision: string; code?: string }[];
      const chain = verifyChain(records);
      const malformedHash = sha256Digest(malformed);
      const requestHash = sha256Digest(canonicalBytes(request));
      if (!chain.ok) auditProblem = `the hash chain breaks at record ${chain.index}: ${chain.problem}`;
      else if (!records.some((r) => r.request_hash === malformedHash && r.stage === 'final' && r.code === 'REQUEST_MALFORMED')) auditProblem = 'no final denial record for the malformed request (request_hash = sha256 of its bytes)';
      else if (!records.some((r) => r.request_hash === requestHash && r.stage === 'intent')) auditProblem = 'no intent record for the executed request';
      else if (!records.some((r) => r.request_hash === requestHash && r.stage === 'final' && r.decision === 'allow')) auditProblem = 'no final execution record for the executed request';
    }
    add(auditProblem ? 'missing' : 'ok', 'GET /v1/audit exports a continuous chain with a record for every request', auditProblem);

    if (hello && !(hello instanceof Error) && hello.execution_layer_url) {
      const direct = await exchange(new URL('/v1/execute', hello.execution_layer_url), canonicalBytes({ request_id: 'doctor-direct', identity: 'alice', action: 'payments.transfer', parameters: {} }));
      const code = (direct.value as { code?: unknown } | undefined)?.code;
      const directProblem = direct.status === 403 && isDenialCode(code) ? undefined : `answered HTTP ${direct.status}: ${direct.text.slice(0, 200)}`;
      add(directProblem ? 'missing' : 'ok', 'the Execution Layer refuses a call without an envelope (403 with a denial code)', directProblem);
    }
  } finally {
    await services.close();
  }
  return checks;
}

export const doctorCommand: CommandSpec = {
  name: 'doctor',
  summary: 'check a gate against the contract before testing it; print the configuration it needs',
  usage: 'failclosed doctor (--target URL | --print-config) [--harness-port N] [--harness-host HOST]',
  details: [
    '--print-config      print the environment a gate needs so that the harness can test it',
    '                    (see conformance/contract/CONTRACT.md)',
    '--target URL        check that gate: health, handshake, denial format, the Control Plane call,',
    '                    the effect report, the audit export, the Execution Layer\'s refusal',
    `--harness-port N    the harness listens on N, N+1, N+2 (default ${DEFAULT_HARNESS_PORT})`,
    '',
    'Exit status: 0 every required check passes, 1 something required is missing, 2 the gate',
    'cannot be reached or a usage error.',
  ],
  options: { target: { type: 'string' }, 'harness-port': { type: 'string' }, 'harness-host': { type: 'string' }, 'print-config': { type: 'boolean', default: false } },
  async run(values, io: CommandIO) {
    const host = typeof values['harness-host'] === 'string' ? values['harness-host'] : '127.0.0.1';
    const base = values['harness-port'] === undefined ? DEFAULT_HARNESS_PORT : Number(values['harness-port']);
    if (!Number.isInteger(base) || base < 1 || base > 65533) return io.usageError(`--harness-port must be a port number, not "${String(values['harness-port'])}"`);
    if (values['print-config']) {
      const env = expectedConfiguration(createHarness(), host, base);
      io.out('# Configure the gate under test with these variables (conformance/contract/CONTRACT.md).\n');
      io.out('# The keys are fixed, public TEST keys: never use them outside a test.\n');
      io.out('# Also set FAILCLOSED_LISTEN_PORT (and FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT if the gate hosts its Execution Layer).\n');
      io.out('# FAILCLOSED_EXECUTION_LAYER_URL is the harness\'s proxy in front of your Execution Layer: the proxy starts\n');
      io.out('# only when your gate announces execution_layer_url in its handshake (FAILCLOSED_CONFORMANCE_CHANNEL=1);\n');
      io.out('# without a control channel, leave it unset.\n');
      for (const [name, value] of Object.entries(env)) io.out(`${name}='${value}'\n`);
      return 0;
    }
    if (typeof values.target !== 'string') return io.usageError('give --target URL or --print-config');
    const spec = targetSpecOf({ target: values.target, 'harness-port': String(base) });
    if (typeof spec === 'string') return io.usageError(spec);
    if (spec.kind !== 'url') return io.usageError('--target must be a URL');
    let checks: Check[];
    try {
      checks = await diagnose(spec.url, host, base);
    } catch (error) {
      if (error instanceof HarnessError) {
        io.err(`failclosed doctor: ${error.message}\n`);
        return 2;
      }
      throw error;
    }
    const symbol: Record<Mark, string> = { ok: '✓', missing: '✗', optional: '–' };
    io.out(`failclosed doctor: ${spec.url}\n`);
    for (const c of checks) io.out(`  ${symbol[c.mark]} ${c.what}${c.detail ? `\n      ${c.detail}` : ''}\n`);
    const missing = checks.filter((c) => c.mark === 'missing').length;
    io.out(missing === 0 ? 'ready to test: npx failclosed run --target ' + spec.url + '\n' : `${missing} required check(s) failed: fix them before testing\n`);
    return missing === 0 ? 0 : 1;
  },
};
