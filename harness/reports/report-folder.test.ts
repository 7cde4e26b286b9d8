import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Capability } from '../../conformance/driver.ts';
import { MUTANTS } from '../../conformance/mutants/index.ts';
import { PROFILES } from '../../conformance/profiles.ts';
import type { DriverFactory, RunReport } from '../../conformance/runner.ts';
import { runSuite } from '../../conformance/runner.ts';
import { THREATS, THREAT_INVARIANTS } from '../../conformance/threats.ts';
import type { History } from '../../model/history.ts';
import { INVARIANT_IDS } from '../../model/profile/denial-codes.ts';
import { referenceTarget } from '../../reference-impl/in-process-target.ts';
import { InProcessDriver } from '../drivers/in-process.ts';
import { CHARTS, describePath, placeStep } from './chart-path.ts';
import { chartSvg } from './chart-svg.ts';
import { writeReportFolder } from './report-folder.ts';
import { RESULT_VERSION, buildResult, readResultSchema } from './result-json.ts';
import { SCENARIOS, scenarioMatrix, threatOfNotTested } from './scenario-matrix.ts';

// ---------------------------------------------------------------------------------------------
// A small XML reader: enough to prove junit.xml well formed and to count what it holds.

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITY = /&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);)/;
// Control characters other than tab, LF and CR are not XML 1.0, not even as references.
const BAD_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;

function parseXml(source: string): XmlElement {
  const body = source.replace(/^<\?xml[^?]*\?>\s*/, '');
  if (BAD_CHAR.test(body)) throw new Error('a character XML 1.0 does not allow');
  const token = /<!--[\s\S]*?-->|<\/([A-Za-z_][\w.:-]*)\s*>|<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|[^<]+/y;
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack = [root];
  let at = 0;
  while (at < body.length) {
    token.lastIndex = at;
    const m = token.exec(body);
    if (!m) throw new Error(`not well formed at ${at}: ${JSON.stringify(body.slice(at, at + 40))}`);
    at = token.lastIndex;
    const top = stack[stack.length - 1]!;
    if (m[0].startsWith('<!--')) continue;
    if (m[1]) {
      if (top.name !== m[1]) throw new Error(`</${m[1]}> closes <${top.name}>`);
      stack.pop();
    } else if (m[2]) {
      const attrs: Record<string, string> = {};
      for (const a of (m[3] ?? '').matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        if (Object.hasOwn(attrs, a[1]!)) throw new Error(`attribute ${a[1]} twice`);
        const value = a[2] ?? a[3] ?? '';
        if (ENTITY.test(value)) throw new Error(`a bare & in attribute ${a[1]}`);
        attrs[a[1]!] = value;
      }
      const element: XmlElement = { name: m[2], attrs, children: [], text: '' };
      if (stack.length === 1 && root.children.length > 0) throw new Error('more than one root element');
      top.children.push(element);
      if (m[4] !== '/') stack.push(element);
    } else {
      if (ENTITY.test(m[0])) throw new Error('a bare & in text');
      if (stack.length === 1 && m[0].trim()) throw new Error('text outside the root element');
      top.text += m[0];
    }
  }
  if (stack.length !== 1) throw new Error(`<${stack[stack.length - 1]!.name}> is never closed`);
  if (root.children.length !== 1) throw new Error('no root element');
  return root.children[0]!;
}

const all = (e: XmlElement, name: string): XmlElement[] => [...(e.name === name ? [e] : []), ...e.children.flatMap((c) => all(c, name))];

describe('parseXml (the test\'s own checker)', () => {
  it('rejects what is not well formed', () => {
    expect(() => parseXml('<a><b></a>')).toThrow();
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow();
    expect(() => parseXml('<a>fish & chips</a>')).toThrow();
    expect(() => parseXml('<a>\u001b</a>')).toThrow();
    expect(() => parseXml('<a/><b/>')).toThrow();
    expect(parseXml('<?xml version="1.0"?>\n<a x="&amp;"><b/>t &lt; u</a>').children).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------

const GENERATED_AT = new Date('2026-01-02T03:04:05.000Z');
/** The cases junit.xml must hold: every invariant each threat puts at stake, six history cases, the verdict. */
// every invariant × threat at stake, a history case per invariant, the contract's denial codes, the verdict
const EXPECTED_CASES = Object.values(THREAT_INVARIANTS).reduce((n, invs) => n + invs.length, 0) + INVARIANT_IDS.length + 2;

const reference: DriverFactory = (h) => new InProcessDriver(referenceTarget(), h);
const revokedKeyAccepted = MUTANTS.find((m) => m.id === 'revoked-key-accepted')!;

async function run(factory: DriverFactory) {
  const histories: History[] = [];
  const report = await runSuite(factory, { profile: PROFILES.quick, seed: 3, runs: 2, onHistory: (h) => histories.push(h) });
  return { report, histories };
}

let dir: string;
let compliant: { report: RunReport; histories: History[] };
let failing: { report: RunReport; histories: History[] };
let compliantPaths: string[];
const REPLAY_COMMAND = 'npx failclosed replay failclosed-report/counterexample.json';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'failclosed-report-'));
  compliant = await run(reference);
  failing = await run((h) => new InProcessDriver(revokedKeyAccepted.target, h));
  compliantPaths = await writeReportFolder(join(dir, 'compliant'), compliant.report, { histories: compliant.histories, generatedAt: GENERATED_AT });
  await writeReportFolder(join(dir, 'failing'), failing.report, {
    histories: failing.histories,
    generatedAt: GENERATED_AT,
    targetDigest: 'sha256:abc',
    replayCommand: REPLAY_COMMAND,
  });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function validator() {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  return ajv.compile(readResultSchema());
}

describe('result.json', () => {
  it('validates against result.schema.json and round-trips, for a compliant run', async () => {
    expect(compliant.report.verdict).toBe('compliant');
    expect(compliantPaths).toEqual(['result.json', 'junit.xml', 'report.html'].map((f) => join(dir, 'compliant', f)));
    const written = JSON.parse(await readFile(join(dir, 'compliant', 'result.json'), 'utf8')) as Record<string, unknown>;
    const validate = validator();
    expect(validate(written), JSON.stringify(validate.errors)).toBe(true);
    const expected = buildResult(compliant.report, scenarioMatrix(compliant.report, compliant.histories), { generatedAt: GENERATED_AT });
    expect(written).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(written).toMatchObject({
      schema: RESULT_VERSION,
      verdict: 'compliant',
      exitCode: 0,
      seed: 3,
      profile: 'quick',
      target: compliant.report.target,
      counts: compliant.report.counts,
      coverage: compliant.report.coverage,
      generatedAt: '2026-01-02T03:04:05.000Z',
      failure: null,
    });
    expect(Object.hasOwn(written, 'targetDigest')).toBe(false);
  });

  it('carries the failure, the target digest and the replay command of a failing run', async () => {
    const written = JSON.parse(await readFile(join(dir, 'failing', 'result.json'), 'utf8')) as Record<string, any>;
    const validate = validator();
    expect(validate(written), JSON.stringify(validate.errors)).toBe(true);
    expect(written.verdict).toBe('non-compliant');
    expect(written.exitCode).toBe(1);
    expect(written.targetDigest).toBe('sha256:abc');
    expect(written.invariants['INV-3'].status).toBe('broken');
    expect(written.failure).toMatchObject({ invariants: ['INV-3'], threat: 'forged-request', commands: ['identityKey.revoked'], replayCommand: REPLAY_COMMAND });
    expect(written.scenarios).toContainEqual(expect.objectContaining({ invariant: 'INV-3', scenario: 'forged-request', status: 'broken' }));
  });

  it('has a schema that names exactly the code\'s invariants and threats, and rejects what it should', () => {
    const schema = readResultSchema() as { $defs: Record<string, { enum: string[] }> };
    expect(schema.$defs.invariant!.enum).toEqual([...INVARIANT_IDS]);
    expect(schema.$defs.threat!.enum).toEqual(Object.keys(THREATS));
    expect(schema.$defs.scenario!.enum).toEqual([...SCENARIOS]);
    const good = JSON.parse(JSON.stringify(buildResult(compliant.report, scenarioMatrix(compliant.report), { generatedAt: GENERATED_AT }))) as Record<string, any>;
    const validate = validator();
    expect(validate(good)).toBe(true);
    expect(validate({ ...good, verdict: 'probably fine' })).toBe(false);
    expect(validate({ ...good, extra: 1 })).toBe(false);
    expect(validate({ ...good, schema: 'failclosed-result/1' })).toBe(false);
    const { failure: _failure, ...noFailure } = good;
    expect(validate(noFailure)).toBe(false);
  });
});

describe('junit.xml', () => {
  const suiteOf = async (name: string) => {
    const root = parseXml(await readFile(join(dir, name, 'junit.xml'), 'utf8'));
    expect(root.name).toBe('testsuites');
    const [suite] = all(root, 'testsuite');
    const cases = all(suite!, 'testcase');
    const count = (tag: string) => cases.filter((c) => c.children.some((ch) => ch.name === tag)).length;
    // The suite's counts must be those of the cases it holds.
    expect(Number(suite!.attrs.tests)).toBe(cases.length);
    for (const [attr, tag] of [['failures', 'failure'], ['errors', 'error'], ['skipped', 'skipped']] as const) expect(Number(suite!.attrs[attr])).toBe(count(tag));
    expect(root.attrs.tests).toBe(suite!.attrs.tests);
    const properties = Object.fromEntries(all(suite!, 'property').map((p) => [p.attrs.name, p.attrs.value]));
    return { root, suite: suite!, cases, properties };
  };

  it('passes every case of a compliant run', async () => {
    const { suite, cases, properties } = await suiteOf('compliant');
    expect(cases).toHaveLength(EXPECTED_CASES);
    expect(suite.attrs).toMatchObject({ failures: '0', errors: '0', skipped: '0' });
    expect(Number(suite.attrs.time)).toBeCloseTo(compliant.report.durationMs / 1000, 2);
    expect(properties).toMatchObject({ seed: '3', profile: 'quick', target: compliant.report.target, verdict: 'compliant' });
    expect(cases.filter((c) => c.attrs.name?.startsWith('history'))).toHaveLength(INVARIANT_IDS.length);
  });

  it('fails the case of the broken invariant under its threat, and the verdict', async () => {
    const { suite, cases, properties } = await suiteOf('failing');
    expect(cases).toHaveLength(EXPECTED_CASES);
    const failed = cases.filter((c) => c.children.some((ch) => ch.name === 'failure'));
    expect(failed.map((c) => `${c.attrs.classname} ${c.attrs.name}`).sort()).toEqual(['failclosed.INV-3 forged-request', 'failclosed.run verdict']);
    const body = failed[0]!.children[0]!;
    expect(body.attrs.message).toContain('KEY_REVOKED');
    expect(body.text).toContain('1. identityKey.revoked');
    // The failing prelude's history is handed on, but the run stopped before judging it: every
    // other case is skipped as not reached, never shown as passed.
    expect(failing.histories).toHaveLength(1);
    const skipped = cases.filter((c) => c.children.some((ch) => ch.name === 'skipped'));
    expect(Number(suite.attrs.skipped)).toBe(skipped.length);
    expect(skipped.length).toBe(cases.length - failed.length);
    for (const c of skipped) expect(c.children[0]!.attrs.message).toMatch(/^not reached: /);
    expect(properties).toMatchObject({ seed: '3', targetDigest: 'sha256:abc' });
  });

  it('skips what the system could not be tested for, and errs on an inconclusive verdict', async () => {
    const without: Capability[] = ['direct-execution', 'audit-export', 'nonce-store-down'];
    const limited: DriverFactory = (h) => {
      const driver = new InProcessDriver(referenceTarget(), h);
      Object.defineProperty(driver, 'capabilities', { value: new Set([...driver.capabilities].filter((c) => !without.includes(c))) });
      return driver;
    };
    const { report, histories } = await run(limited);
    expect(report.verdict).toBe('inconclusive');
    await writeReportFolder(join(dir, 'limited'), report, { histories, generatedAt: GENERATED_AT });
    const { cases } = await suiteOf('limited');
    const skipped = cases.filter((c) => c.children.some((ch) => ch.name === 'skipped')).map((c) => `${c.attrs.classname} ${c.attrs.name?.split(' ')[0]}`);
    expect(skipped.sort()).toEqual(
      [
        'failclosed.INV-6 bypass', // every bypass scenario needs direct calls
        'failclosed.INV-6 history', // so INV-6 as a whole is not tested
        'failclosed.INV-5 malformed-input', // INV-5 cannot be judged without the audit export
        'failclosed.INV-5 audit-failure',
        'failclosed.INV-5 burst',
        'failclosed.INV-5 history',
        'failclosed.INV-3 nonce-store-failure', // partly: the unconfirmed write was tested, the outage not
        'failclosed.INV-4 nonce-store-failure',
        'failclosed.INV-3 replay', // "[nonceClaimed] nonceStore.unavailable"
      ].sort(),
    );
    const errors = cases.filter((c) => c.children.some((ch) => ch.name === 'error'));
    expect(errors.map((c) => c.attrs.name)).toEqual(['verdict']);
    expect(errors[0]!.children[0]!.attrs.message).toMatch(/^inconclusive: /);
  });

  it('escapes what a system under test can put in a message', async () => {
    const nasty = 'a <b>&"quotes"\' \u001b[31m]]> </failure>';
    const report: RunReport = { ...failing.report, target: `evil "target" <x>`, failure: { ...failing.report.failure!, message: nasty, trail: [nasty] } };
    await writeReportFolder(join(dir, 'nasty'), report, { generatedAt: GENERATED_AT });
    const xml = await readFile(join(dir, 'nasty', 'junit.xml'), 'utf8');
    const root = parseXml(xml);
    const failure = all(root, 'failure')[0]!;
    expect(failure.attrs.message).toContain('&lt;b&gt;&amp;&quot;quotes&quot;&#39; \\u001b[31m]]&gt; &lt;/failure&gt;');
    const html = await readFile(join(dir, 'nasty', 'report.html'), 'utf8');
    expect(html).not.toContain('<b>&');
    expect(html).toContain('evil &quot;target&quot; &lt;x&gt;');
  });
});

describe('report.html', () => {
  const read = (name: string) => readFile(join(dir, name, 'report.html'), 'utf8');
  const selfContained = (html: string) => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link/i);
    expect(html).not.toMatch(/<(img|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/\bsrc\s*=/i);
    expect(html).not.toMatch(/@import|url\((?!#)/i);
    expect(html).not.toMatch(/https?:\/\//i);
  };

  it('is self-contained and shows a compliant run without a path', async () => {
    const html = await read('compliant');
    selfContained(html);
    expect(html).toContain('<span class="word">compliant</span>');
    for (const id of INVARIANT_IDS) expect(html).toMatch(new RegExp(`<div class="card held" id="${id}">`));
    expect(html).not.toMatch(/class="[^"]*\bon-path\b/);
    expect(html).not.toContain('id="counterexample"');
  });

  it('shows the broken invariant, the steps, the trail and the path on the statechart', async () => {
    const html = await read('failing');
    selfContained(html);
    expect(html).toContain('<span class="word">non-compliant</span>');
    expect(html).toMatch(/<div class="card broken" id="INV-3">/);
    expect(html).toContain('Every executed request is authentic');
    expect(html).toMatch(/<ol class="steps"><li><span class="steplabel mono">identityKey\.revoked<\/span>/);
    expect(html).toContain('observed executed, 1 effect(s)');
    expect(html).toContain(REPLAY_COMMAND);
    expect(html).toMatch(/<td class="broken"[^>]*data-invariant="INV-3" data-scenario="forged-request"/);
    // The revoked key's transition, and only the model's path for it, is highlighted.
    expect(html).toMatch(/<g class="transition on-path injected denial" data-event="identityKey\.revoked" data-source="authenticate\.identity\.lookUpKey" data-index="\d+">/);
    expect(html).toMatch(/<path class="wire on-path injected denial" data-event="identityKey\.revoked"/);
    const onPath = [...html.matchAll(/<g class="transition on-path[^"]*" data-event="([^"]+)"/g)].map((m) => m[1]);
    expect(onPath.sort()).toEqual(['done', 'identityKey.revoked', 'requestShape.wellFormed', 'signature.valid', 'timestamp.inWindow'].sort());
    expect(html).toMatch(/<g class="state final denied-bar on-path"/);
  });

  it('puts container logs, escaped, in a collapsible block', async () => {
    await writeReportFolder(join(dir, 'logs'), failing.report, { logs: 'gate up\n<script>alert(1)</script>\n\u001b[31mpanic\u001b[0m', generatedAt: GENERATED_AT });
    const html = await read('logs');
    selfContained(html);
    expect(html).toMatch(/<details><summary>3 lines[^<]*<\/summary><pre>gate up\n&lt;script&gt;alert\(1\)&lt;\/script&gt;\n\\u001b\[31mpanic/);
  });

  it('places a random-phase counterexample on the chart through the model paths of its steps', async () => {
    const report: RunReport = { ...failing.report, failure: { ...failing.report.failure!, phase: 'random', commands: ['ValidRequest()', 'RevokedKey()'], modelPaths: ['healthy', 'identityKey.revoked'] } };
    await writeReportFolder(join(dir, 'placed'), report, { generatedAt: GENERATED_AT });
    const html = await read('placed');
    expect(html).not.toContain('could not be placed on the statechart');
    expect(html).toMatch(/class="[^"]*\bon-path\b/);
  });

  it('says so, rather than guessing, when the steps cannot be placed on the chart', async () => {
    // Without the model paths of its steps (an older report), only command names remain.
    const report: RunReport = { ...failing.report, failure: { ...failing.report.failure!, phase: 'random', commands: ['ValidRequest()', 'RevokedKey()'], modelPaths: [] } };
    await writeReportFolder(join(dir, 'unplaced'), report, { generatedAt: GENERATED_AT });
    const html = await read('unplaced');
    expect(html).toContain('could not be placed on the statechart');
    expect(html).not.toMatch(/class="[^"]*\bon-path\b/);
  });
});

describe('placing steps on the statechart', () => {
  const events = (label: string) => {
    const p = placeStep(label, 1);
    if (!p.placed) throw new Error(p.why);
    return p.transitions.map((i) => {
      const t = CHARTS[p.chart].transitions[i]!;
      return `${t.source}:${t.event}${t.code ? `/${t.code}` : ''}`;
    });
  };

  it('follows the model, guards and eventless transitions included', () => {
    expect(events('[nonceClaimed] nonceStore.available')).toContain('replay:nonceStore.available/REPLAY_DETECTED');
    expect(events('[nonceClaimed] healthy')).toContain('replay:nonceStore.available/REPLAY_DETECTED');
    const consumed = events('[approvalConsumed] healthy');
    expect(consumed).toContain('replay:nonceStore.available');
    expect(consumed.at(-1)).toBe('dispatch.executionLayer:always/ENVELOPE_REPLAYED');
    expect(events('direct call [approvalConsumed] healthy').slice(-2)).toEqual(['validate:done', 'consume:always/ENVELOPE_REPLAYED']);
    expect(events('healthy').at(-1)).toBe('dispatch.awaitOutcome:executionOutcome.confirmed');
    const p = placeStep('identityKey.revoked', 2);
    expect(p.placed && describePath(p)).toBe(
      'structure: requestShape.wellFormed · lookUpKey: identityKey.revoked [KEY_REVOKED] · checkTimestamp: timestamp.inWindow · verifySignature: signature.valid · authenticate: all regions done ⇒ denied',
    );
  });

  it('does not place what is not a path of the model', () => {
    for (const label of ['RevokedKey()', 'identityKey.unknown signature.invalid', 'nonceStore.sometimes', 'direct call identityKey.revoked', 'crash and restart']) {
      expect(placeStep(label, 1).placed, label).toBe(false);
    }
  });

  it('attributes untested scenarios to their threat', () => {
    expect(threatOfNotTested('nonceStore.unavailable', 'nonce-store-down')).toBe('nonce-store-failure');
    expect(threatOfNotTested('[nonceClaimed] nonceStore.unavailable', 'nonce-store-down')).toBe('replay');
    expect(threatOfNotTested('direct call presentedEnvelope.absent', 'direct-execution')).toBe('bypass');
    expect(threatOfNotTested('executionLink.tampered', 'execution-tamper')).toBe('argument-swap');
    expect(threatOfNotTested('AuditStoreFault()', 'audit-down')).toBe('audit-failure');
    expect(threatOfNotTested('random command sequences', 'reset')).toBeNull();
  });
});

describe('the statechart drawing', () => {
  for (const [id, chart] of Object.entries(CHARTS)) {
    it(`draws every state and transition of the ${id} chart, without overlapping boxes`, () => {
      const svg = chartSvg(chart, id);
      expect(svg.match(/<g class="transition[ "]/g)).toHaveLength(chart.transitions.length);
      for (const s of chart.states) expect(svg).toContain(`data-state="${s.path}"`);
      const boxes = [...svg.matchAll(/<g class="state (atomic|final)[^"]*" data-state="([^"]+)">(?:<title>[^<]*<\/title>)?<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)].map((m) => ({
        path: m[2]!,
        x: Number(m[3]),
        y: Number(m[4]),
        w: Number(m[5]),
        h: Number(m[6]),
      }));
      expect(boxes.length).toBe(chart.states.filter((s) => s.type === 'atomic' || s.type === 'final').length);
      for (const a of boxes) {
        for (const b of boxes) {
          if (a === b) continue;
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          expect(overlap, `${a.path} overlaps ${b.path}`).toBe(false);
        }
      }
    });
  }
});
