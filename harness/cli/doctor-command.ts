/**
 * `failclosed doctor`: checks a gate against the contract before any test, and says precisely
 * what is missing. `--print-config` prints the configuration the harness expects a gate to have,
 * as shell `export` lines, `KEY=value` lines or the JSON file form (CONTRACT.md §2).
 *
 * Doctor's own requests (one malformed, one that executes) leave audit records and a claimed
 * nonce in the gate. When the handshake offers `reset`, doctor resets the gate afterwards; when
 * it does not, its last lines say that the gate must be restarted on an empty data directory
 * before `failclosed run`.
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
import type { Hello } from '../drivers/http.ts';
import { HarnessError, fetchHello } from '../drivers/http.ts';
import { DEFAULT_HARNESS_PORT, harnessPorts, startHttpHarness } from '../http-harness.ts';
import { HARNESS_CONTROL_PLANE_DEADLINE_MS, HARNESS_EXECUTION_DEADLINE_MS } from '../reference-over-http.ts';
import type { CommandIO, CommandSpec } from './command.ts';
import { runCommand, targetSpecOf } from './run-command.ts';

type Mark = 'ok' | 'missing' | 'optional';

interface Check {
  mark: Mark;
  what: string;
  detail?: string;
}

/**
 * The Execution Layer deadline `--print-config` suggests (tuning): the one the harness sets for the
 * gates it starts. A delayed link holds a call until the Gate gives up on it, so a shorter deadline
 * makes those steps cheaper; the contract's maximum is 5 s.
 */
export const SUGGESTED_EXECUTION_DEADLINE_MS = HARNESS_EXECUTION_DEADLINE_MS;

/** Who provides a setting of the printed configuration. */
type SettingGroup = 'harness' | 'channel' | 'tuning' | 'vendor';

interface Setting {
  /** the environment variable (the JSON file's key is this without FAILCLOSED_, in lower case) */
  name: string;
  value: string | number | boolean | object;
  group: SettingGroup;
}

export interface GateConfigOptions {
  /** where the harness's services listen: Control Plane on base, effect sink base+1, proxy base+2 */
  host: string;
  base: number;
  /** false: a gate without the conformance control channel (no channel, no Execution Layer proxy) */
  controlChannel?: boolean;
  listenPort?: number;
  executionLayerListenPort?: number;
  dataDir?: string;
}

/** The settings of CONTRACT.md §2 for a gate tested by a harness on `host:base…base+2`. */
export function gateSettings(harness: Harness, options: GateConfigOptions): Setting[] {
  const ports = harnessPorts(options.base);
  const url = (port: number) => `http://${options.host}:${port}`;
  const channel = options.controlChannel !== false;
  return [
    { name: 'FAILCLOSED_CONTROL_PLANE_URL', value: url(ports.controlPlane), group: 'harness' },
    { name: 'FAILCLOSED_CONTROL_PLANE_KEYS', value: harness.trustedKeys, group: 'harness' },
    { name: 'FAILCLOSED_EFFECT_SINK_URL', value: url(ports.effectSink), group: 'harness' },
    { name: 'FAILCLOSED_IDENTITY_KEYS', value: { keys: harness.identityKeys }, group: 'harness' },
    { name: 'FAILCLOSED_ACCEPTANCE_WINDOW_SEC', value: harness.settings.acceptanceWindowSec, group: 'harness' },
    ...(channel
      ? [
          { name: 'FAILCLOSED_CONFORMANCE_CHANNEL', value: true, group: 'channel' as const },
          { name: 'FAILCLOSED_EXECUTION_LAYER_URL', value: url(ports.executionProxy), group: 'channel' as const },
        ]
      : []),
    { name: 'FAILCLOSED_CONTROL_PLANE_DEADLINE_MS', value: HARNESS_CONTROL_PLANE_DEADLINE_MS, group: 'tuning' },
    { name: 'FAILCLOSED_EXECUTION_DEADLINE_MS', value: SUGGESTED_EXECUTION_DEADLINE_MS, group: 'tuning' },
    ...(options.listenPort !== undefined ? [{ name: 'FAILCLOSED_LISTEN_PORT', value: options.listenPort, group: 'vendor' as const }] : []),
    ...(options.executionLayerListenPort !== undefined ? [{ name: 'FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT', value: options.executionLayerListenPort, group: 'vendor' as const }] : []),
    ...(options.dataDir !== undefined ? [{ name: 'FAILCLOSED_DATA_DIR', value: options.dataDir, group: 'vendor' as const }] : []),
  ];
}

/** A setting as an environment variable's value: JSON for objects, "1" for true. */
function envValue(value: Setting['value']): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The environment a gate needs to be tested by a harness on `host:base…base+2` (tuning included). */
export function expectedConfiguration(harness: Harness, host: string, base: number, controlChannel = true): Record<string, string> {
  return Object.fromEntries(gateSettings(harness, { host, base, controlChannel }).map((s) => [s.name, envValue(s.value)]));
}

/** The JSON file form (FAILCLOSED_CONFIG_FILE, gate-config.schema.json) of the settings. */
export function configFile(settings: Setting[]): Record<string, unknown> {
  return Object.fromEntries(settings.map((s) => [s.name.replace(/^FAILCLOSED_/, '').toLowerCase(), s.value]));
}

/** A POSIX shell word: single-quoted, with single quotes escaped. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export const CONFIG_FORMATS = ['shell', 'env', 'json'] as const;
export type ConfigFormat = (typeof CONFIG_FORMATS)[number];

const GROUP_HEADINGS: Record<SettingGroup, string> = {
  harness: 'set by the harness: its Control Plane and effect sink, and the fixed, public TEST keys (never use them outside a test)',
  channel: 'the conformance control channel (never in production) and the harness\'s proxy in front of your Execution Layer',
  tuning: 'tuning, optional: honour them if you can (runs are faster)',
  vendor: "yours: the Gate's port, its Execution Layer's port, the data directory",
};

/** The configuration as text in one of the formats (stdout: data only, nothing to strip). */
export function formatConfiguration(settings: Setting[], format: ConfigFormat, header: string): string {
  if (format === 'json') return `${JSON.stringify(configFile(settings), null, 2)}\n`;
  if (format === 'env') return settings.map((s) => `${s.name}=${envValue(s.value)}\n`).join('');
  const lines = [`# ${header}`];
  let group: SettingGroup | undefined;
  for (const s of settings) {
    if (s.group !== group) lines.push(`# ${GROUP_HEADINGS[(group = s.group)]}`);
    lines.push(`export ${s.name}=${shellQuote(envValue(s.value))}`);
  }
  return `${lines.join('\n')}\n`;
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

export interface Diagnosis {
  checks: Check[];
  /** the gate offers a control channel (a handshake answered) */
  controlChannel: boolean;
  /** its handshake offers `reset` */
  resetOffered: boolean;
  /**
   * whether the gate is fresh again after doctor's own requests: true only when doctor reset it
   * (POST /failclosed/v1/reset) and its audit export came back empty
   */
  fresh: boolean;
}

/** Runs every check, then resets the gate when it can (a thrown HarnessError: unreachable). */
export async function diagnose(gateUrl: string, host: string, base: number): Promise<Diagnosis> {
  const checks: Check[] = [];
  const add = (mark: Mark, what: string, detail?: string) => checks.push({ mark, what, ...(detail ? { detail } : {}) });
  const hello = await runChecks(gateUrl, host, base, add);
  const controlChannel = hello !== undefined && !(hello instanceof Error);
  if (!controlChannel || !hello.capabilities.includes('reset')) return { checks, controlChannel, resetOffered: false, fresh: false };
  const problem = await resetGate(gateUrl);
  add(problem ? 'missing' : 'ok', "doctor reset the gate afterwards (POST /failclosed/v1/reset): its requests are forgotten, the audit export is empty", problem);
  return { checks, controlChannel, resetOffered: true, fresh: problem === undefined };
}

/** Resets the gate and checks that it came back fresh; what went wrong, or undefined. */
async function resetGate(gateUrl: string): Promise<string | undefined> {
  try {
    const response = await fetch(new URL('/failclosed/v1/reset', gateUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(30_000) });
    const text = await response.text();
    if (response.status !== 204 && response.status !== 200) return `answered HTTP ${response.status}: ${text.slice(0, 200)}`;
    const audit = await exchange(new URL('/v1/audit', gateUrl));
    if (audit.status !== 200) return `after the reset, GET /v1/audit answered HTTP ${audit.status}`;
    if (!Array.isArray(audit.value) || audit.value.length > 0) return `after the reset, GET /v1/audit still exports ${Array.isArray(audit.value) ? `${audit.value.length} record(s)` : 'something that is not an empty array'}`;
    return undefined;
  } catch (error) {
    return `the reset failed: ${(error as Error).message}`;
  }
}

/** The checks proper; resolves to the handshake (undefined: no channel; an Error: a bad one). */
async function runChecks(gateUrl: string, host: string, base: number, add: (mark: Mark, what: string, detail?: string) => void): Promise<Hello | Error | undefined> {
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
    return hello;
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
    const unproxied = !services.executionProxy && (executed.value as { code?: unknown } | undefined)?.code === 'EXECUTION_UNAVAILABLE';
    const executedProblem =
      executed.status !== 200 ? `answered HTTP ${executed.status}: ${executed.text.slice(0, 200)}${unproxied ? `\n      FAILCLOSED_EXECUTION_LAYER_URL must stay unset unless the handshake announces execution_layer_url (the proxy at ${services.executionProxyUrl} runs only then): print the configuration with --no-control-channel` : ''}`
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
  return hello;
}

function portOption(value: unknown, name: string, highest = 65535): number | undefined | string {
  if (value === undefined) return undefined;
  const port = Number(value);
  return Number.isInteger(port) && port >= 1 && port <= highest ? port : `${name} must be a port number, not "${String(value)}"`;
}

/** The `failclosed run` that tests this gate: every option doctor was given that run needs too. */
export function runSuggestion(gateUrl: string, values: Record<string, unknown>, controlChannel: boolean): string {
  const parts = ['npx failclosed run --target', gateUrl];
  if (values['harness-port'] !== undefined) parts.push('--harness-port', String(values['harness-port']));
  if (typeof values['harness-host'] === 'string') parts.push('--harness-host', values['harness-host']);
  // A gate without the channel is tested at the level it can reach — once run has levels.
  if (!controlChannel && 'level' in runCommand.options) parts.push('--level core');
  return parts.join(' ');
}

/** What the vendor adds to the printed configuration, on stderr so that stdout stays data. */
function configGuidance(options: GateConfigOptions, format: ConfigFormat, values: Record<string, unknown>): string {
  const yours = [
    options.listenPort === undefined ? '    FAILCLOSED_LISTEN_PORT                  required: the port your Gate serves on (--listen-port N prints it)' : undefined,
    options.executionLayerListenPort === undefined ? '    FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT  when your gate process hosts its Execution Layer: its port (--execution-layer-listen-port N)' : undefined,
    options.dataDir === undefined ? '    FAILCLOSED_DATA_DIR                     an empty directory for durable state, a new one for every run (--data-dir DIR)' : undefined,
  ].filter((l): l is string => l !== undefined);
  const doctor = ['npx failclosed doctor --target', `http://127.0.0.1:${options.listenPort ?? '<listen port>'}`];
  if (values['harness-port'] !== undefined) doctor.push('--harness-port', String(values['harness-port']));
  if (typeof values['harness-host'] === 'string') doctor.push('--harness-host', values['harness-host']);
  return [
    `failclosed doctor: the configuration of a gate under test (CONTRACT.md section 2), for a harness on ${options.host}:${options.base}…${options.base + 2}.`,
    format === 'shell' ? '  Apply it in the shell that starts your gate: eval "$(npx failclosed doctor --print-config …)"'
    : format === 'env' ? '  Give the file to your gate: docker run --env-file FILE …, node --env-file=FILE …'
    : '  Save it to a file and start your gate with FAILCLOSED_CONFIG_FILE=that file.',
    ...(yours.length ? ['  Add yourself:', ...yours] : []),
    '  FAILCLOSED_CONTROL_PLANE_DEADLINE_MS and FAILCLOSED_EXECUTION_DEADLINE_MS are optional tuning.',
    options.controlChannel === false
      ? '  Without the control channel: FAILCLOSED_CONFORMANCE_CHANNEL and FAILCLOSED_EXECUTION_LAYER_URL are left out.'
      : '  FAILCLOSED_EXECUTION_LAYER_URL is the harness\'s proxy: it runs only when your handshake announces execution_layer_url.\n  A gate without the control channel: print with --no-control-channel.',
    `  Start the gate on an empty data directory, then: ${doctor.join(' ')}`,
    '',
  ].join('\n');
}

export const doctorCommand: CommandSpec = {
  name: 'doctor',
  summary: 'check a gate against the contract before testing it; print the configuration it needs',
  usage: 'failclosed doctor (--target URL | --print-config [--format shell|env|json] [--listen-port N] [--execution-layer-listen-port N] [--data-dir DIR] [--no-control-channel]) [--harness-port N] [--harness-host HOST]',
  details: [
    '--print-config      print the configuration a gate needs so that the harness can test it',
    '                    (conformance/contract/CONTRACT.md section 2): where the harness plays the',
    '                    Control Plane and owns the effect sink, the TEST keys, the control channel',
    '                    and the proxy in front of the Execution Layer, and two optional tuning',
    '                    values (Control Plane deadline 750 ms, Execution Layer deadline 1500 ms).',
    '                    Guidance goes to stderr; stdout holds only the configuration.',
    '  --format F        shell (default): export lines, for eval "$(npx failclosed doctor --print-config)";',
    '                    env: KEY=value lines, for docker run --env-file or node --env-file;',
    '                    json: the FAILCLOSED_CONFIG_FILE form (gate-config.schema.json; needs --listen-port)',
    '  --listen-port N   also print FAILCLOSED_LISTEN_PORT (required: the port your Gate serves on)',
    '  --execution-layer-listen-port N   also print FAILCLOSED_EXECUTION_LAYER_LISTEN_PORT (when your',
    '                    gate process hosts its Execution Layer)',
    '  --data-dir DIR    also print FAILCLOSED_DATA_DIR (an empty directory, a new one for every run)',
    '  --no-control-channel   for a gate without the conformance control channel: leaves out',
    '                    FAILCLOSED_CONFORMANCE_CHANNEL and FAILCLOSED_EXECUTION_LAYER_URL',
    '--target URL        check that gate: health, handshake, denial format, the Control Plane call,',
    '                    the effect report, the audit export, the Execution Layer\'s refusal. Doctor\'s',
    '                    own requests stay in the gate: when the handshake offers reset, doctor resets',
    '                    it afterwards; otherwise restart the gate on an empty data directory before',
    '                    `failclosed run` (doctor says which). Ends with the `failclosed run` to use.',
    `--harness-port N    the harness listens on N, N+1, N+2 (default ${DEFAULT_HARNESS_PORT}); give the same to run`,
    '--harness-host HOST the address the harness listens on and puts in its URLs (default 127.0.0.1)',
    '',
    'Exit status: 0 every required check passes (or the configuration was printed), 1 something',
    'required is missing, 2 the gate cannot be reached or a usage error.',
  ],
  options: {
    target: { type: 'string' },
    'harness-port': { type: 'string' },
    'harness-host': { type: 'string' },
    'print-config': { type: 'boolean', default: false },
    format: { type: 'string' },
    'listen-port': { type: 'string' },
    'execution-layer-listen-port': { type: 'string' },
    'data-dir': { type: 'string' },
    'no-control-channel': { type: 'boolean', default: false },
  },
  async run(values, io: CommandIO) {
    const host = typeof values['harness-host'] === 'string' ? values['harness-host'] : '127.0.0.1';
    const base = values['harness-port'] === undefined ? DEFAULT_HARNESS_PORT : Number(values['harness-port']);
    if (!Number.isInteger(base) || base < 1 || base > 65533) return io.usageError(`--harness-port must be a port number, not "${String(values['harness-port'])}"`);
    const configOnly = ['format', 'listen-port', 'execution-layer-listen-port', 'data-dir'].filter((o) => values[o] !== undefined);
    if (values['no-control-channel']) configOnly.push('no-control-channel');
    if (values['print-config']) {
      if (typeof values.target === 'string') return io.usageError('give either --print-config or --target URL, not both');
      const format = values.format === undefined ? 'shell' : String(values.format);
      if (!(CONFIG_FORMATS as readonly string[]).includes(format)) return io.usageError(`--format must be shell, env or json, not "${format}"`);
      const listenPort = portOption(values['listen-port'], '--listen-port');
      const executionLayerListenPort = portOption(values['execution-layer-listen-port'], '--execution-layer-listen-port');
      if (typeof listenPort === 'string') return io.usageError(listenPort);
      if (typeof executionLayerListenPort === 'string') return io.usageError(executionLayerListenPort);
      if (format === 'json' && listenPort === undefined) return io.usageError('--format json needs --listen-port N: the configuration file requires listen_port');
      const options: GateConfigOptions = {
        host,
        base,
        controlChannel: !values['no-control-channel'],
        ...(listenPort !== undefined ? { listenPort } : {}),
        ...(executionLayerListenPort !== undefined ? { executionLayerListenPort } : {}),
        ...(typeof values['data-dir'] === 'string' ? { dataDir: values['data-dir'] } : {}),
      };
      const header = `the configuration of a gate under test (conformance/contract/CONTRACT.md section 2), for a harness on ${host}:${base}…${base + 2}`;
      io.out(formatConfiguration(gateSettings(createHarness(), options), format as ConfigFormat, header));
      io.err(configGuidance(options, format as ConfigFormat, values));
      return 0;
    }
    if (configOnly.length) return io.usageError(`--${configOnly[0]} goes with --print-config`);
    if (typeof values.target !== 'string') return io.usageError('give --target URL or --print-config');
    const spec = targetSpecOf({ target: values.target, 'harness-port': String(base) });
    if (typeof spec === 'string') return io.usageError(spec);
    if (spec.kind !== 'url') return io.usageError('--target must be a URL');
    let diagnosis: Diagnosis;
    try {
      diagnosis = await diagnose(spec.url, host, base);
    } catch (error) {
      if (error instanceof HarnessError) {
        io.err(`failclosed doctor: ${error.message}\n`);
        return 2;
      }
      throw error;
    }
    const symbol: Record<Mark, string> = { ok: '✓', missing: '✗', optional: '–' };
    io.out(`failclosed doctor: ${spec.url}\n`);
    for (const c of diagnosis.checks) io.out(`  ${symbol[c.mark]} ${c.what}${c.detail ? `\n      ${c.detail}` : ''}\n`);
    const missing = diagnosis.checks.filter((c) => c.mark === 'missing').length;
    const run = runSuggestion(spec.url, values, diagnosis.controlChannel);
    if (missing > 0) io.out(`${missing} required check(s) failed: fix them before testing\n`);
    if (!diagnosis.fresh) {
      const why = diagnosis.resetOffered ? 'its reset failed' : 'it offers no reset';
      io.out(`The gate now holds doctor's requests (their audit records, nonce and approval) and ${why}: \`failclosed run\` needs a fresh gate, and would stop as inconclusive.\n`);
      io.out(missing === 0 ? `ready to test once the gate is restarted on an empty data directory: ${run}\n` : 'Restart it on an empty data directory before `failclosed run`.\n');
    } else if (missing === 0) io.out(`ready to test: ${run}\n`);
    return missing === 0 ? 0 : 1;
  },
};
