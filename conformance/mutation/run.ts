/**
 * `npm run mutation [-- in-process|http] [--score-only]`: StrykerJS over the reference's decision
 * code, judged by the conformance suite — in-process (stryker.config.mjs) and over HTTP
 * (stryker.http.config.mjs) — then the score as the project states it: killed ÷ mutants that are
 * not triaged equivalent or out of scope (triage.json), every untriaged survivor listed as a gap,
 * the wall time of each campaign. Exit 0 when every configuration meets the target, 1 when one
 * does not, 2 when a campaign could not run or left no report (never a score from nothing).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ConfigurationScore, MutationReport } from './score.ts';
import { readTriage, scoreReport, staleEntries } from './score.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TARGET = 0.95;
const CONFIGURATIONS = [
  { name: 'in-process', file: 'stryker.config.mjs' },
  { name: 'http', file: 'stryker.http.config.mjs' },
] as const;
const USAGE =
  'usage: npm run mutation [-- in-process|http] [--force | --score-only]\n' +
  '  in-process|http  one configuration (default: both)\n' +
  '  --force          judge every mutant again: incremental mode re-runs only mutants whose file or judge file changed, not those a change elsewhere in the suite now kills\n' +
  '  --score-only     score the last reports again (after editing triage.json), without running StrykerJS';

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => !['in-process', 'http', '--score-only', '--force', '--help', '-h'].includes(a));
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (unknown.length > 0) {
    console.error(`npm run mutation: unknown argument ${unknown.join(' ')}\n${USAGE}`);
    return 2;
  }
  const chosen = CONFIGURATIONS.filter((c) => argv.includes(c.name) || !argv.some((a) => a === 'in-process' || a === 'http'));
  const triagePath = join(ROOT, 'conformance/mutation/triage.json');
  const triage = readTriage(triagePath);
  const scores: { score: ConfigurationScore; wallMs: number | undefined }[] = [];
  const reports: MutationReport[] = [];
  for (const c of chosen) {
    let wallMs: number | undefined;
    if (!argv.includes('--score-only')) {
      const started = Date.now();
      const force = argv.includes('--force') ? ['--force'] : [];
      const run = spawnSync(process.execPath, [join(ROOT, 'node_modules/@stryker-mutator/core/bin/stryker.js'), 'run', c.file, ...force], { cwd: ROOT, stdio: 'inherit' });
      wallMs = Date.now() - started;
      if (run.status !== 0) {
        console.error(`mutation: StrykerJS (${c.file}) exited with ${run.status ?? run.signal}: no score`);
        return 2;
      }
    }
    const path = join(ROOT, `reports/mutation/${c.name}/mutation.json`);
    if (!existsSync(path)) {
      console.error(`mutation: ${path} does not exist: run \`npm run mutation -- ${c.name}\` first`);
      return 2;
    }
    const report = JSON.parse(readFileSync(path, 'utf8')) as MutationReport;
    reports.push(report);
    const options = ((await import(pathToFileURL(join(ROOT, c.file)).href)) as { default: { mutate: string[] } }).default;
    const mutated = options.mutate.filter((m) => !m.startsWith('!'));
    scores.push({ score: scoreReport(c.name, report, triage, mutated), wallMs });
  }
  console.log('');
  for (const { score: s, wallMs } of scores) {
    console.log(`mutation (${s.name}): ${s.total} mutants — killed ${s.killed}, timed out ${s.timeout}, survived ${s.survived}, no coverage ${s.noCoverage}, invalid ${s.invalid}; triaged equivalent ${s.equivalent}, out of scope ${s.outOfScope}`);
    for (const f of s.perFile) console.log(`  ${f.file}: ${f.detected}/${f.counted} detected${f.counted ? ` (${((100 * f.detected) / f.counted).toFixed(1)}%)` : ''}`);
    for (const g of s.gaps) console.log(`  GAP ${g.status === 'NoCoverage' ? '(no coverage) ' : ''}${g.file}:${g.line} ${g.mutator}: ${JSON.stringify(g.original)} → ${JSON.stringify(g.replacement)}`);
  }
  const stale = staleEntries(reports, triage).filter((t) => scores.length === CONFIGURATIONS.length || reports.some((r) => t.file in r.files));
  if (stale.length > 0 && scores.length === CONFIGURATIONS.length) {
    for (const t of stale) console.log(`  STALE triage entry (matches no mutant): ${t.file} ${t.mutator}: ${JSON.stringify(t.original)} → ${JSON.stringify(t.replacement)}`);
  }
  let allMet = true;
  for (const { score: s, wallMs } of scores) {
    const met = s.score >= TARGET;
    allMet &&= met;
    const time = wallMs === undefined ? 'scored from the last reports' : `campaign ${(wallMs / 60_000).toFixed(1)} min on this machine`;
    console.log(`mutation (${s.name}): ${(100 * s.score).toFixed(1)}% of non-equivalent mutants detected (${s.killed + s.timeout}/${s.killed + s.timeout + s.gaps.length}), ${s.gaps.length} gap(s); target ≥ ${100 * TARGET}%: ${met ? 'met' : 'NOT MET'} — ${time}`);
  }
  return allMet ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
