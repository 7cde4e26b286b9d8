/**
 * The mutation score as this project states it: Stryker's JSON reports, read against the triage
 * kept in the repository (triage.json). A mutant that survived is either triaged — equivalent (no
 * observable behaviour changes) or outside what a conformance run can reach (and why) — or it is a
 * gap, counted against the score. Triage entries name a mutant by file, mutator, replacement and
 * the source text it replaces, not by line or id, so they survive edits elsewhere in the file.
 */
import { readFileSync } from 'node:fs';

export type MutantStatus = 'Killed' | 'Survived' | 'NoCoverage' | 'Timeout' | 'CompileError' | 'RuntimeError' | 'Ignored' | 'Pending';

export interface ReportMutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: MutantStatus;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}

export interface MutationReport {
  files: Record<string, { source: string; mutants: ReportMutant[] }>;
}

export type TriageVerdict = 'equivalent' | 'out-of-scope';

export interface TriageEntry {
  file: string;
  mutator: string;
  /** the source text the mutant replaces (exact) */
  original: string;
  replacement: string;
  verdict: TriageVerdict;
  why: string;
  /** the configuration it holds for ('in-process' or 'http'); absent: both */
  configuration?: string;
}

export interface MutantKey {
  file: string;
  mutator: string;
  original: string;
  replacement: string;
}

/** The source text a mutant replaces (Stryker's columns are 1-based, end exclusive). */
export function originalText(source: string, m: ReportMutant): string {
  const lines = source.split('\n');
  const { start, end } = m.location;
  if (start.line === end.line) return lines[start.line - 1]!.slice(start.column - 1, end.column - 1);
  const parts = [lines[start.line - 1]!.slice(start.column - 1), ...lines.slice(start.line, end.line - 1), lines[end.line - 1]!.slice(0, end.column - 1)];
  return parts.join('\n');
}

export function keyOf(file: string, source: string, m: ReportMutant): MutantKey {
  return { file, mutator: m.mutatorName, original: originalText(source, m), replacement: m.replacement ?? '' };
}

function sameKey(a: MutantKey, b: MutantKey): boolean {
  return a.file === b.file && a.mutator === b.mutator && a.original === b.original && a.replacement === b.replacement;
}

export interface ConfigurationScore {
  name: string;
  total: number;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  /** errors of the mutated code itself: not mutants that a test could judge */
  invalid: number;
  equivalent: number;
  outOfScope: number;
  /** killed (or timed out) ÷ every mutant that is neither invalid, equivalent nor out of scope */
  score: number;
  /** survivors and uncovered mutants with no triage entry: the gaps, each listed */
  gaps: (MutantKey & { line: number; status: MutantStatus })[];
  perFile: { file: string; detected: number; counted: number }[];
}

const DETECTED: readonly MutantStatus[] = ['Killed', 'Timeout'];
const INVALID: readonly MutantStatus[] = ['CompileError', 'RuntimeError', 'Ignored', 'Pending'];

/**
 * `mutated`: the files the configuration mutates now — StrykerJS's incremental report keeps files
 * an earlier configuration mutated, which are not part of this score.
 */
export function scoreReport(name: string, report: MutationReport, triage: readonly TriageEntry[], mutated?: readonly string[]): ConfigurationScore {
  const s: ConfigurationScore = { name, total: 0, killed: 0, timeout: 0, survived: 0, noCoverage: 0, invalid: 0, equivalent: 0, outOfScope: 0, score: 0, gaps: [], perFile: [] };
  for (const [file, { source, mutants }] of Object.entries(report.files)) {
    if (mutated && !mutated.includes(file)) continue;
    let detected = 0;
    let counted = 0;
    for (const m of mutants) {
      s.total += 1;
      if (INVALID.includes(m.status)) {
        s.invalid += 1;
        continue;
      }
      if (m.status === 'Killed') s.killed += 1;
      if (m.status === 'Timeout') s.timeout += 1;
      if (DETECTED.includes(m.status)) {
        detected += 1;
        counted += 1;
        continue;
      }
      if (m.status === 'Survived') s.survived += 1;
      if (m.status === 'NoCoverage') s.noCoverage += 1;
      const key = keyOf(file, source, m);
      const entry = triage.find((t) => sameKey(t, key) && (t.configuration === undefined || t.configuration === name));
      if (entry?.verdict === 'equivalent') s.equivalent += 1;
      else if (entry?.verdict === 'out-of-scope') s.outOfScope += 1;
      else {
        counted += 1;
        s.gaps.push({ ...key, line: m.location.start.line, status: m.status });
      }
    }
    s.perFile.push({ file, detected, counted });
  }
  const counted = s.perFile.reduce((n, f) => n + f.counted, 0);
  s.score = counted === 0 ? Number.NaN : (s.killed + s.timeout) / counted;
  return s;
}

/** Triage entries that match no mutant of any report given: stale, to be removed or corrected. */
export function staleEntries(reports: readonly MutationReport[], triage: readonly TriageEntry[]): TriageEntry[] {
  const keys: MutantKey[] = [];
  for (const r of reports) for (const [file, { source, mutants }] of Object.entries(r.files)) for (const m of mutants) keys.push(keyOf(file, source, m));
  return triage.filter((t) => !keys.some((k) => sameKey(t, k)));
}

export function readTriage(path: string): TriageEntry[] {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { mutants: TriageEntry[] };
  for (const [i, t] of doc.mutants.entries()) {
    if (!t.file || !t.mutator || typeof t.original !== 'string' || typeof t.replacement !== 'string') throw new Error(`${path}: entry ${i} must name file, mutator, original and replacement`);
    if (t.verdict !== 'equivalent' && t.verdict !== 'out-of-scope') throw new Error(`${path}: entry ${i} (${t.file}): verdict must be "equivalent" or "out-of-scope", not ${JSON.stringify(t.verdict)}`);
    if (!t.why || t.why.trim().length < 10) throw new Error(`${path}: entry ${i} (${t.file}): say why, in one line`);
  }
  return doc.mutants;
}
