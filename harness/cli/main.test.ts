import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cli } from './cli-test-support.ts';


describe('failclosed CLI', () => {
  it('--help lists the implemented commands and exits 0', async () => {
    const { status, stdout } = await cli('--help');
    expect(status).toBe(0);
    expect(stdout).toContain('explore');
  });

  it('no command or an unknown one is a usage error (exit 2)', async () => {
    expect((await cli()).status).toBe(2);
    const unknown = await cli('frobnicate');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  it('explore --format json carries the counts and the model check result', async () => {
    const { status, stdout } = await cli('explore', '--format', 'json', '--paths');
    expect(status).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.counts.gateScenarios).toBeGreaterThan(40);
    expect(report.modelCheck.ok).toBe(true);
    expect(report.chart.states.length).toBeGreaterThan(10);
    expect(report.paths.some((p: { terminal: string }) => p.terminal === 'executed')).toBe(true);
  });

  it('explore draws mermaid and dot diagrams of either chart', async () => {
    expect((await cli('explore', '--format', 'mermaid')).stdout).toMatch(/^stateDiagram-v2\n/);
    const dot = await cli('explore', '--format', 'dot', '--chart', 'execution-layer');
    expect(dot.stdout).toMatch(/^digraph "executionLayer"/);
    expect(dot.stdout).toContain('ENVELOPE_REPLAYED');
  });

  it('explore --paths prints the shortest path to every terminal outcome', async () => {
    const { stdout } = await cli('explore', '--paths');
    expect(stdout).toContain('denied(REPLAY_DETECTED) (prior history: nonceClaimed)');
    expect(stdout).toMatch(/executed\n\s+requestShape\.wellFormed → /);
  });

  it('bad option values and unknown options are usage errors that say what is wrong', async () => {
    const format = await cli('explore', '--format', 'png');
    expect(format.status).toBe(2);
    expect(format.stderr).toContain('--format must be one of');
    const unknown = await cli('explore', '--colour');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--colour'");
  });

  it('the installed bin runs the TypeScript CLI', () => {
    const bin = fileURLToPath(new URL('../../bin/failclosed.mjs', import.meta.url));
    const result = spawnSync(process.execPath, [bin, 'explore', '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: failclosed explore');
  });
});
