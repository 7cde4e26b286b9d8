/**
 * The model explorer in a real browser: Debian's Chromium, headless, driven by playwright-core
 * (never a downloaded browser). The page is loaded from file://, paths and answers are clicked as
 * a person would, and what the page shows must equal what predictRequest / predictDirectCall say
 * for that scenario — the page runs the same machines, so any difference is a bug in the page.
 * The page and a screenshot are kept in test-output/explorer/.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enumerateDirectCallScenarios, memoryFor, predictDirectCall, predictRequest } from '../../model/predict.ts';
import type { PriorHistory } from '../../model/predict.ts';
import { shortestDirectCallPaths, shortestTerminalPaths } from '../../model/paths.ts';
import type { Question, Scenario } from '../../model/questions.ts';
import { healthyAnswer } from '../../model/questions.ts';
import { DENIAL_CODES } from '../../model/profile/denial-codes.ts';
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import type { SystemMemory } from '../../model/system-memory.ts';
import { buildExplorerHtml, serveExplorer } from './explorer-page.ts';
import { MUTANTS } from '../../conformance/mutants/index.ts';
import { PROFILES } from '../../conformance/profiles.ts';
import { runSuite } from '../../conformance/runner.ts';
import { InProcessDriver } from '../drivers/in-process.ts';
import { writeReportFolder } from '../reports/report-folder.ts';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const OUT = fileURLToPath(new URL('../../test-output/explorer/', import.meta.url));
const PAGE = join(OUT, 'explorer.html');
const available = existsSync(CHROMIUM);
if (!available) console.log(`explorer browser tests WILL FAIL: ${CHROMIUM} is missing (.ci/run installs Debian's chromium; locally: apt-get install -y chromium)`);

let browser: Browser;
let page: Page;
const errors: string[] = [];

const scenarioOf = (steps: readonly string[]): Scenario => Object.fromEntries(steps.map((s) => s.split('.'))) as Scenario;
/** Clicks a permalink and waits for the page to have rendered it (hashchange comes after the click). */
async function openLink(link: Locator): Promise<void> {
  const href = (await link.getAttribute('href'))!;
  await link.click();
  await page.waitForSelector(`body[data-loaded="${href.slice(href.indexOf('#'))}"]`, { timeout: 5_000 });
}
const shown = async () => JSON.parse((await page.locator('#outcome-json').textContent())!) as unknown;
const expected = (run: { terminal: string; steps: unknown; outcome: unknown }) => JSON.parse(JSON.stringify({ terminal: run.terminal, steps: run.steps, outcome: run.outcome }));

/** What a person reads: the decision and the acceptable codes, as listed. */
async function visible(): Promise<{ decision: string; codes: string[] }> {
  return {
    decision: (await page.locator('#outcome-decision').textContent())!,
    codes: await page.locator('#outcome-codes code').allTextContents(),
  };
}

describe('the model explorer page, in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    writeFileSync(PAGE, await buildExplorerHtml());
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    await page.goto(pathToFileURL(PAGE).href);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('loads from file:// without errors and lists every scenario and every terminal path', async () => {
    expect(errors).toEqual([]);
    expect(await page.locator('#paths a').count()).toBe(shortestTerminalPaths().length);
    const direct = shortestDirectCallPaths();
    expect(direct.map((p) => p.terminal)).toContain('executed');
    expect(await page.locator('#direct-paths a').evaluateAll((links) => links.map((a) => a.getAttribute('data-terminal')))).toEqual(direct.map((p) => p.terminal));
    expect(await page.locator('#scenarios a').count()).toBeGreaterThan(100);
  });

  it('a path to executed shows exactly what predictRequest predicts', async () => {
    const path = shortestTerminalPaths().find((p) => p.terminal === 'executed')!;
    await openLink(page.locator('#paths a[data-terminal="executed"]'));
    const run = predictRequest(scenarioOf(path.steps), memoryFor(path.prior));
    expect(await shown()).toEqual(expected(run));
    expect(await visible()).toEqual({ decision: 'executed', codes: [] });
    expect(await page.locator('#chart-gate [data-state="executed"].on-path').count()).toBe(1);
    await page.screenshot({ path: join(OUT, 'explorer-executed.png') });
  });

  for (const stage of [...new Set(Object.values(DENIAL_CODES).map((c) => c.stage))]) {
    it(`a path to a denial of the ${stage} family shows what predictRequest predicts`, async () => {
      const path = shortestTerminalPaths().find((p) => {
        const codes = (p.terminal.match(/[A-Z_]{4,}/g) ?? []) as DenialCode[];
        return codes.length > 0 && codes.every((c) => DENIAL_CODES[c].stage === stage);
      });
      expect(path, `a terminal path whose codes are all of the ${stage} stage`).toBeDefined();
      await openLink(page.locator(`#paths a[data-terminal="${path!.terminal}"][data-prior="${path!.prior}"]`));
      const run = predictRequest(scenarioOf(path!.steps), memoryFor(path!.prior as PriorHistory));
      expect(await shown()).toEqual(expected(run));
      expect(await visible()).toEqual({ decision: 'denied', codes: run.outcome.acceptableCodes });
    });
  }

  it('answers chosen one by one, then the same request again with the memory carried, agree with the model', async () => {
    await page.locator('#restart').click();
    const chosen: Scenario = { identityKey: 'active', controlPlane: 'allow' };
    // One click per question the chart asks; the charts have no cycles, so 64 is far beyond any path.
    for (let i = 0; i < 64 && (await page.locator('button[data-question]').count()) > 0; i++) {
      const question = (await page.locator('button[data-question]').first().getAttribute('data-question')) as Question;
      await page.locator(`button[data-question="${question}"][data-answer="${(chosen as Record<string, string>)[question] ?? healthyAnswer(question)}"]`).click();
    }
    const first = predictRequest(chosen);
    expect(await shown()).toEqual(expected(first));
    await page.locator('button[data-next="same"]').click();
    expect(await page.locator('#memory code').allTextContents()).toEqual([...first.outcome.memory.claimedNonces, ...first.outcome.memory.consumedApprovals]);
    for (let i = 0; i < 64 && (await page.locator('button[data-question]').count()) > 0; i++) {
      await page.locator('button.answer.healthy').first().click();
    }
    const replayed = predictRequest({}, first.outcome.memory as SystemMemory);
    expect(await shown()).toEqual(expected(replayed));
    expect(await visible()).toEqual({ decision: 'denied', codes: ['REPLAY_DETECTED'] });
  });

  it('a direct call from the scenario list, and a permalink, show what the model predicts', async () => {
    const direct = enumerateDirectCallScenarios().find((r) => r.terminal === 'denied' && r.prior === 'approvalConsumed')!;
    const answers = direct.steps.map((s) => `${s.question}.${s.answer}`).join(',');
    const href = `#chart=executionLayer&prior=approvalConsumed&answers=${answers}`;
    await openLink(page.locator(`#scenarios a[href="${href}"]`));
    expect(await shown()).toEqual(expected(predictDirectCall(scenarioOf(answers.split(',')), memoryFor('approvalConsumed'))));
    expect(await page.locator('#chart-executionLayer').isVisible()).toBe(true);
    // The shortest path to each of the direct call's outcomes shows what the model predicts too.
    for (const path of shortestDirectCallPaths()) {
      await openLink(page.locator(`#direct-paths a[data-terminal="${path.terminal}"]`));
      expect(await shown()).toEqual(expected(predictDirectCall(scenarioOf(path.steps), memoryFor(path.prior))));
    }
    // A permalink opened cold (a new tab) shows the same.
    const tab = await browser.newPage();
    await tab.goto(`${pathToFileURL(PAGE).href}#chart=gate&prior=nonceClaimed&answers=requestShape.wellFormed,identityKey.active`);
    await tab.waitForSelector('body[data-ready="true"]');
    expect(await tab.locator('#answers code').allTextContents()).toEqual(['requestShape.wellFormed', 'identityKey.active']);
    expect(await tab.locator('button[data-question]').first().getAttribute('data-question')).toBe(predictRequest({}, memoryFor('nonceClaimed')).steps[2]!.question);
    await tab.close();
    await page.screenshot({ path: join(OUT, 'explorer.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it("a failing run's report links each counterexample step to its scenario in the explorer beside it", async () => {
    const mutant = MUTANTS.find((m) => m.id === 'revoked-key-accepted')!;
    const report = await runSuite((h) => new InProcessDriver(mutant.target, h), { profile: PROFILES.quick, seed: 4, runs: 1 });
    const folder = join(OUT, 'failing-report');
    rmSync(folder, { recursive: true, force: true });
    await writeReportFolder(folder, report);
    const tab = await browser.newPage();
    await tab.goto(pathToFileURL(join(folder, 'report.html')).href);
    const link = tab.locator('a.explore').first();
    expect(await link.getAttribute('href')).toBe('explorer.html#chart=gate&prior=none&scenario=identityKey.revoked');
    await link.click();
    await tab.waitForSelector('body[data-ready="true"]');
    const run = predictRequest({ identityKey: 'revoked' });
    expect(JSON.parse((await tab.locator('#outcome-json').textContent())!)).toEqual(expected(run));
    expect(await tab.locator('#outcome-codes code').allTextContents()).toEqual(['KEY_REVOKED']);
    await tab.close();
  });
});

describe('failclosed explore --serve', () => {
  it('serves the page on loopback only, and nothing else', async () => {
    const { server, url } = await serveExplorer(0);
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect((server.address() as { address: string }).address).toBe('127.0.0.1');
      const ok = await fetch(url);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('failclosed model explorer');
      expect((await fetch(`${url}other`)).status).toBe(404);
    } finally {
      await new Promise((done) => server.close(done));
    }
  });
});
