import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { History } from '../../model/history.ts';
import { rechainAudit } from '../../model/history-builder.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import type { AuditRecord } from '../../model/profile/messages.ts';
import { PROFILES } from '../../conformance/profiles.ts';
import { runSuite } from '../../conformance/runner.ts';
import { exportJson, exportNdjson } from '../../reference-impl/audit/audit-log.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import { checkAuditCommand } from '../cli/check-audit-command.ts';
import { InProcessDriver } from '../drivers/in-process.ts';
import type { AuditCheckReport } from './check-audit.ts';
import { checkAudit, parseAuditExport } from './check-audit.ts';
import { writeKit } from './kit.ts';

let root: string;
let history: History;
let records: AuditRecord[];
let keysFile: string;

const entries = (values: readonly unknown[]) => values.map((value) => ({ value: value as JsonValue }));
const keysOf = (h: History) => ({ identityKeys: h.keys.identityKeys, controlPlaneKeys: h.keys.controlPlaneKeys });
const check = (values: readonly unknown[]) => checkAudit(entries(values), keysOf(history));
const failed = (report: AuditCheckReport) =>
  report.checks.filter((c) => !c.ok).flatMap((c) => c.problems.map((p) => ({ check: c.title, ...p })));

async function cli(...args: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = { out: (t: string) => void (out += t), err: (t: string) => void (err += t), usageError: (m: string) => ((err += `${m}\n`), 2),
    fail: (cause: string, remedy: string, status = 2) => ((err += `${cause}\nremedy: ${remedy}\n`), status) };
  const keysAt = args.indexOf('--keys');
  const values = keysAt >= 0 ? { keys: args[keysAt + 1] } : {};
  const positionals = args.filter((_, i) => keysAt < 0 || (i !== keysAt && i !== keysAt + 1));
  const status = await checkAuditCommand.run(values, io, positionals);
  return { status, out, err };
}

/** The records of the first trace that executed: intent, then final. */
function executedTrace(): { intent: number; final: number } {
  const final = records.findIndex((r) => r.stage === 'final' && r.decision === 'allow');
  const intent = records.findIndex((r) => r.stage === 'intent' && r.trace_id === records[final]!.trace_id);
  return { intent, final };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'failclosed-check-audit-'));
  await runSuite((h) => new InProcessDriver(referenceTarget(), h), {
    profile: PROFILES.quick,
    seed: 2,
    runs: 1,
    onHistory: (h, run) => {
      if (run.phase === 'prelude') history = h;
    },
  });
  records = history.audit as unknown as AuditRecord[];
  keysFile = join(root, 'keys.json');
  writeFileSync(keysFile, JSON.stringify({ identity_keys: history.keys.identityKeys, control_plane_keys: history.keys.controlPlaneKeys }));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("checking a vendor's audit export offline", () => {
  it("finds the reference's export sound, consumes all of it, and counts what it decided", () => {
    const report = check(records);
    expect(failed(report)).toEqual([]);
    expect(report.exitCode).toBe(0);
    expect(report.examined).toBe(records.length);
    expect(report.placed).toBe(records.length);
    // Every request the Gate answered is one trace; the counts agree with the answers it gave.
    const responses = history.events.filter((e) => e.kind === 'response');
    expect(report.requests).toBe(responses.length);
    expect(report.allowed).toBe(responses.filter((r) => r.status === 'executed').length);
    const codes: Record<string, number> = {};
    for (const r of responses) {
      // An aborted upload (the prelude sends one) is audited REQUEST_MALFORMED with no one left to answer.
      const code = r.status === 'denied' ? r.code! : r.status === 'indeterminate' ? 'REQUEST_MALFORMED' : undefined;
      if (code) codes[code] = (codes[code] ?? 0) + 1;
    }
    expect(report.deniedByCode).toEqual(codes);
  });

  it('reads a JSON array and NDJSON alike', () => {
    const array = parseAuditExport(exportJson(records));
    const ndjson = parseAuditExport(exportNdjson(records));
    expect(array.ok && ndjson.ok && array.value.length === records.length && ndjson.value.length === records.length).toBe(true);
    if (ndjson.ok) expect(checkAudit(ndjson.value, keysOf(history)).ok).toBe(true);
  });

  it('catches a record edited after it was written, at its index', () => {
    const edited = records.map((r, i) => (i === 5 ? { ...r, identity: 'mallory' } : r));
    const problems = failed(check(edited));
    expect(problems).toContainEqual(expect.objectContaining({ records: [5], message: 'record 5 does not hash to its record_hash: it was changed after it was written' }));
  });

  it('catches a record removed or two records swapped: the chain breaks there', () => {
    const removed = records.filter((_, i) => i !== 7);
    expect(failed(check(removed))).toContainEqual(expect.objectContaining({ records: [6, 7], message: 'record 7 does not link to record 6' }));
    const swapped = [...records];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    const problems = failed(check(swapped));
    expect(problems.some((p) => p.message === 'record 3 does not link to record 2')).toBe(true);
  });

  it('does not count an unknown outcome under an approval already executed as a second use (a delayed link to a consumed approval)', () => {
    const { intent, final } = executedTrace();
    const again = [
      { ...records[intent]!, trace_id: 'trace-again', record_id: 'again-intent', request_hash: 'sha256:' + 'a'.repeat(64) },
      { ...records[final]!, trace_id: 'trace-again', record_id: 'again-final', request_hash: 'sha256:' + 'a'.repeat(64), decision: 'deny', code: 'EXECUTION_UNCONFIRMED', outcome: 'unknown' },
    ];
    const report = check(rechainAudit([...records, ...again] as unknown as JsonValue[]));
    expect(failed(report)).toEqual([]);
  });

  it('catches a rewritten, re-chained log: a denial turned into an execution without an intent record', () => {
    const denial = records.findIndex((r) => r.decision === 'deny' && r.code === 'POLICY_DENIED');
    const forged = records.map((r, i) => {
      if (i !== denial) return r;
      const { code: _code, ...rest } = r;
      return { ...rest, decision: 'allow', approval_id: 'approval-forged', outcome: 'executed' };
    });
    const report = check(rechainAudit(forged as unknown as JsonValue[]));
    const problems = failed(report);
    expect(report.checks[1]!.ok).toBe(true); // the chain itself is intact: it was rebuilt
    expect(problems).toContainEqual(expect.objectContaining({ records: [denial], message: expect.stringMatching(/executed without an intent record before it/) }));
    expect(report.placed).toBe(records.length - 1);
  });

  it('catches an approval executed twice and the same bytes accepted twice', () => {
    const { intent, final } = executedTrace();
    const copy = [records[intent]!, records[final]!].map((r) => ({ ...r, trace_id: 'trace-copied', record_id: `${r.record_id}-copy` }));
    const report = check(rechainAudit([...records, ...copy] as unknown as JsonValue[]));
    const messages = failed(report).map((p) => p.message);
    expect(messages).toContainEqual(expect.stringMatching(/^approval .* was executed 2 times/));
    expect(messages).toContainEqual(expect.stringMatching(/^the same request bytes .* got past the replay check 2 times/));
  });

  it('catches a log cut after an intent record: that request was never closed', () => {
    const { intent } = executedTrace();
    const cut = records.slice(0, intent + 1);
    const report = check(cut);
    expect(failed(report)).toContainEqual(expect.objectContaining({ records: [intent], message: expect.stringMatching(/has no final record/) }));
    expect(report.placed).toBe(cut.length - 1);
  });

  it('catches an execution by an identity that holds no active key', () => {
    const { intent, final } = executedTrace();
    const renamed = records.map((r, i) => (i === intent || i === final ? { ...r, identity: 'mallory' } : r));
    const messages = failed(check(rechainAudit(renamed as unknown as JsonValue[]))).map((p) => p.message);
    expect(messages).toContainEqual(expect.stringMatching(/executed for identity "mallory", which has no active key in KEYS/));
  });

  it('reports an unreadable NDJSON line at its index, and an export that is neither as a usage error', () => {
    const lines = exportNdjson(records).split('\n');
    lines[2] = lines[2]!.slice(0, 20);
    const parsed = parseAuditExport(lines.join('\n'));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(failed(checkAudit(parsed.value, keysOf(history)))[0]).toMatchObject({ records: [2] });
    expect(parseAuditExport('hello\nworld\n')).toMatchObject({ ok: false });
  });

  it('failclosed check-audit: 0 for a sound export, 1 with record indexes for a tampered one, 2 for usage errors', async () => {
    const good = join(root, 'good.json');
    writeFileSync(good, exportJson(records));
    const ok = await cli(good, '--keys', keysFile);
    expect(ok.status).toBe(0);
    expect(ok.out).toMatch(new RegExp(`${records.length} records, \\d+ requests: \\d+ allowed, \\d+ denied \\(`));
    expect(ok.out).toContain(`✓ every record is accounted for: ${records.length} examined, ${records.length} placed`);

    const bad = join(root, 'bad.ndjson');
    writeFileSync(bad, exportNdjson(records.filter((_, i) => i !== 7)));
    const tampered = await cli(bad, '--keys', keysFile);
    expect(tampered.status).toBe(1);
    expect(tampered.out).toContain('✗ the hash chain is continuous from genesis');
    expect(tampered.out).toContain('records 6, 7: record 7 does not link to record 6');

    // The keys of a verification kit serve as well: its keys/ folder or the kit itself.
    const kit = join(root, 'kit');
    await writeKit(kit, [history], { target: 'reference (in-process)', seed: 2, profile: 'quick', verdict: 'compliant' });
    expect((await cli(good, '--keys', join(kit, 'keys'))).status).toBe(0);
    expect((await cli(good, '--keys', kit)).status).toBe(0);
    // root holds the kit in kit/, as a report folder does: its keys serve, and that is said.
    const fromReport = await cli(good, '--keys', root);
    expect(fromReport.status).toBe(0);
    expect(fromReport.out.split('\n')[0]).toBe(`failclosed check-audit: ${root} is a report folder; using the keys of its kit, ${kit}/keys`);

    expect((await cli(good)).status).toBe(2);
    expect((await cli(join(root, 'missing.json'), '--keys', keysFile)).status).toBe(2);
    expect((await cli(good, '--keys', join(root, 'missing-keys.json'))).status).toBe(2);
    writeFileSync(join(root, 'bad-keys.json'), '{"identity_keys": [{"key_id": "nope"}], "control_plane_keys": []}');
    const badKeys = await cli(good, '--keys', join(root, 'bad-keys.json'));
    expect(badKeys.status).toBe(2);
    expect(badKeys.err).toContain('identity_keys[0]');
  });
});
