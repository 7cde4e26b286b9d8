/**
 * The report folder every run writes: result.json (for machines, versioned), junit.xml (for CI)
 * and report.html (for people). All three are made from one scenario matrix, so they agree.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RunReport } from '../../conformance/runner.ts';
import type { History } from '../../model/history.ts';
import { placeSteps } from './chart-path.ts';
import { renderJunit } from './junit.ts';
import { renderReportHtml } from './report-html.ts';
import { buildResult } from './result-json.ts';
import { scenarioMatrix } from './scenario-matrix.ts';
import { buildExplorerHtml } from '../explorer/explorer-page.ts';

export const REPORT_FILES = { result: 'result.json', junit: 'junit.xml', html: 'report.html', explorer: 'explorer.html' } as const;

export interface ReportExtra {
  /** the end of what the system under test printed (container logs) */
  logs?: string;
  /** every history the run judged (runSuite's onHistory): how much each predicate examined */
  histories?: History[];
  /** content address of what was tested, e.g. the container image digest */
  targetDigest?: string;
  /** the command that replays the counterexample, e.g. `npx failclosed replay <file>` */
  replayCommand?: string;
  /** defaults to now; fixed in tests */
  generatedAt?: Date;
}

/** Writes result.json, junit.xml and report.html into `dir` (created if needed); returns their paths. */
export async function writeReportFolder(dir: string, report: RunReport, extra: ReportExtra = {}): Promise<string[]> {
  const generatedAt = extra.generatedAt ?? new Date();
  const common = {
    generatedAt,
    ...(extra.targetDigest ? { targetDigest: extra.targetDigest } : {}),
    ...(extra.replayCommand ? { replayCommand: extra.replayCommand } : {}),
  };
  const matrix = scenarioMatrix(report, extra.histories);
  // The model scenario of each step when the run recorded it; else the command names (unplaceable).
  const placements = report.failure ? placeSteps(report.failure.modelPaths?.length ? report.failure.modelPaths : report.failure.commands) : [];
  const result = buildResult(report, matrix, common);
  const junit = renderJunit(report, matrix, common);
  // A counterexample on the chart gets the model explorer beside it, each step a link into it.
  const explorer = placements.some((p) => p.placed) ? await buildExplorerHtml() : undefined;
  const html = renderReportHtml(report, matrix, placements, {
    ...common,
    ...(extra.logs ? { logs: extra.logs } : {}),
    siblings: [REPORT_FILES.result, REPORT_FILES.junit],
    ...(explorer ? { explorer: REPORT_FILES.explorer } : {}),
  });
  const folder = resolve(dir);
  await mkdir(folder, { recursive: true });
  const files: [string, string][] = [
    [REPORT_FILES.result, `${JSON.stringify(result, null, 2)}\n`],
    [REPORT_FILES.junit, junit],
    [REPORT_FILES.html, html],
    ...(explorer ? [[REPORT_FILES.explorer, explorer] as [string, string]] : []),
  ];
  const written: string[] = [];
  for (const [name, content] of files) {
    const path = join(folder, name);
    await writeFile(path, content, 'utf8');
    written.push(path);
  }
  return written;
}
