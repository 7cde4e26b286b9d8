/**
 * Everything a finished run leaves behind, written in one place for the CLI and the vitest
 * integration alike: the report folder (result.json, junit.xml, report.html), the verification
 * kit in its kit/ subfolder, and counterexample.json when the run failed.
 *
 * The folder is chosen — and checked to be new or empty — before the run starts, so a run never
 * ends by failing to write its evidence or by mixing it with an older run's.
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { RunReport } from '../../conformance/runner.ts';
import type { History } from '../../model/history.ts';
import type { TargetSpec } from '../targets.ts';
import type { KitSummary } from '../evidence/kit.ts';
import { writeKit } from '../evidence/kit.ts';
import { REPORT_FILES, writeReportFolder } from './report-folder.ts';

export const COUNTEREXAMPLE_VERSION = 'failclosed-counterexample/1';

export interface CounterexampleFile {
  version: typeof COUNTEREXAMPLE_VERSION;
  target: TargetSpec;
  profile: string;
  /** the level the run was asked to certify (absent in files of earlier versions: full) */
  level?: string;
  report: RunReport;
  /** the end of what the system under test printed, when the harness could see it */
  logs?: string;
  /** the plug-in invariant modules the run loaded (absolute): replay loads them again */
  invariantFiles?: string[];
  /** the plug-in command modules (absolute): replay needs the same commands to follow the path */
  commandFiles?: string[];
}

/** The folder a run writes when none is given: new for every run. */
export function defaultReportDir(startedAt: Date, seed: number): string {
  return resolve(join('failclosed-report', `run-${startedAt.toISOString().replace(/[:.]/g, '-')}-seed-${seed}`));
}

/** Why `dir` cannot take a run's evidence, or undefined when it can (absent, or an empty folder). */
export function reportDirProblem(dir: string): string | undefined {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) return `${dir} exists and is not a folder`;
    entries = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `${dir} cannot be read: ${(error as Error).message}`;
  }
  return entries.length > 0 ? `${dir} is not empty (it holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}): a run writes its evidence into a new or empty folder` : undefined;
}

export interface RunEvidence {
  reportDir: string;
  reportHtml: string;
  files: string[];
  kit: KitSummary;
  counterexampleFile?: string;
  replayCommand?: string;
}

export async function writeRunEvidence(
  reportDir: string,
  report: RunReport,
  inputs: { histories: History[]; target: TargetSpec; level: string; logs?: string; targetDigest?: string; jsonFile?: string; invariantFiles?: string[]; commandFiles?: string[] },
): Promise<RunEvidence> {
  const counterexampleFile = report.failure ? join(reportDir, 'counterexample.json') : undefined;
  const replayCommand = counterexampleFile ? `npx failclosed replay ${counterexampleFile}` : undefined;
  const files = await writeReportFolder(reportDir, report, {
    histories: inputs.histories,
    ...(inputs.logs ? { logs: inputs.logs } : {}),
    ...(replayCommand ? { replayCommand } : {}),
    ...(inputs.targetDigest ? { targetDigest: inputs.targetDigest } : {}),
  });
  const document: CounterexampleFile = {
    version: COUNTEREXAMPLE_VERSION,
    target: inputs.target,
    profile: report.profile,
    level: inputs.level,
    report,
    ...(inputs.logs ? { logs: inputs.logs } : {}),
    ...(inputs.invariantFiles?.length ? { invariantFiles: [...inputs.invariantFiles] } : {}),
    ...(inputs.commandFiles?.length ? { commandFiles: [...inputs.commandFiles] } : {}),
  };
  for (const file of [counterexampleFile, inputs.jsonFile].filter((f): f is string => !!f)) {
    mkdirSync(dirname(resolve(file)), { recursive: true });
    writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
    files.push(resolve(file));
  }
  const kit = await writeKit(join(reportDir, 'kit'), inputs.histories, { target: report.target, seed: report.seed, profile: report.profile, verdict: report.verdict });
  return {
    reportDir,
    reportHtml: join(reportDir, REPORT_FILES.html),
    files,
    kit,
    ...(counterexampleFile ? { counterexampleFile } : {}),
    ...(replayCommand ? { replayCommand } : {}),
  };
}
