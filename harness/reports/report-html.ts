/**
 * report.html: one self-contained page for a person (no scripts, no external styles or fonts; it
 * opens offline, from a CI artifact or an email). The verdict per invariant, the invariant × threat
 * matrix, what was not tested, the counterexample step by step, and its path on the statechart.
 */
import type { RunReport } from '../../conformance/runner.ts';
import { THREATS } from '../../conformance/threats.ts';
import { INVARIANT_IDS } from '../../model/profile/denial-codes.ts';
import type { ChartId, StepPlacement } from './chart-path.ts';
import { CHARTS, CHART_TITLES, describePath } from './chart-path.ts';
import { explorerFragment } from '../explorer/fragment.ts';
import { chartSvg } from './chart-svg.ts';
import { escapeMarkup as esc } from './escape.ts';
import type { CellStatus, ScenarioMatrix } from './scenario-matrix.ts';
import { SCENARIOS, invariantRows } from './scenario-matrix.ts';

export interface HtmlOptions {
  generatedAt: Date;
  targetDigest?: string;
  replayCommand?: string;
  logs?: string;
  /** the other files of the folder, linked relatively */
  siblings?: string[];
  /** the model explorer page beside the report (relative): each placed counterexample step links to its scenario there */
  explorer?: string;
}

const CELL_MARK: Record<CellStatus, string> = {
  held: '✓',
  broken: '✗',
  'not tested': '?',
  'partly tested': '◐',
  'not reached': '–',
  'not at stake': '·',
};

const slug = (s: string) => s.replace(/[^A-Za-z0-9]+/g, '-');

/** How the statecharts look, shared with the model explorer page (harness/explorer/). */
export const CHART_STYLE = `
svg.chart { display: block; max-width: none; }
svg.chart text { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 11px; fill: #1f2328; }
svg.chart .state rect { fill: #fff; stroke: #8c959f; stroke-width: 1; }
svg.chart .state.container rect { fill: #f6f8fa; stroke-dasharray: 5 3; }
svg.chart .state.final rect { fill: #eaeef2; }
svg.chart .state.denied-bar rect { fill: #ffebe9; stroke: #cf222e; }
svg.chart .state .name { font-size: 12px; font-weight: 700; }
svg.chart .state .asks, svg.chart .state .kind { fill: var(--muted); font-weight: 400; }
svg.chart .state.on-path rect { stroke: var(--path); stroke-width: 2.5; }
svg.chart .transition rect { fill: transparent; }
svg.chart .transition .code { fill: #cf222e; }
svg.chart .transition.uncovered text { fill: #afb8c1; text-decoration: line-through; }
svg.chart .transition.on-path rect { fill: #ddf4ff; stroke: var(--path); stroke-width: 1; }
svg.chart .transition.on-path .answer { font-weight: 700; fill: var(--path); }
svg.chart .transition.injected rect { fill: #fff1e6; stroke: var(--inject); stroke-width: 1.5; }
svg.chart .transition.injected .answer { fill: var(--inject); }
svg.chart .transition .step { fill: #fff; font-weight: 700; }
svg.chart .transition.on-path .step { fill: var(--path); }
svg.chart .wire { fill: none; stroke: #afb8c1; stroke-width: 1; }
svg.chart .wire.denial { stroke: #f0b4b0; }
svg.chart .wire.uncovered { stroke-dasharray: 3 3; }
svg.chart .wire.on-path { stroke: var(--path); stroke-width: 2.5; }
svg.chart .arrowhead { fill: #afb8c1; } svg.chart .arrowhead.arrowhead-on { fill: var(--path); }
`;

const STYLE = `
:root { --held:#1a7f37; --broken:#cf222e; --untested:#8a6d00; --partly:#b08800; --muted:#6e7781; --line:#d0d7de; --path:#0969da; --inject:#d4380d; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2328; background: #f6f8fa; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 28px 60px; }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 18px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 13px; }
pre { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
.sub { color: var(--muted); margin: 0; }
.verdict { margin: 18px 0 8px; padding: 18px 22px; border-radius: 10px; color: #fff; display: flex; align-items: baseline; gap: 18px; flex-wrap: wrap; }
.verdict .word { font-size: 34px; font-weight: 800; letter-spacing: .04em; text-transform: uppercase; }
.verdict .exit { font-size: 15px; opacity: .9; }
.verdict.compliant { background: var(--held); } .verdict.non-compliant { background: var(--broken); } .verdict.inconclusive { background: var(--untested); } .verdict.partial { background: var(--path); }
.reasons { margin: 6px 0 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-left: 8px solid var(--muted); border-radius: 8px; padding: 10px 14px; }
.card .id { font-size: 24px; font-weight: 800; margin-right: 10px; }
.card .status { font-size: 18px; font-weight: 700; text-transform: uppercase; }
.card p { margin: 4px 0 0; font-size: 14px; }
.card.held { border-left-color: var(--held); } .card.held .status { color: var(--held); }
.card.broken { border-left-color: var(--broken); background: #fff5f5; } .card.broken .status { color: var(--broken); }
.card.not-tested { border-left-color: var(--untested); } .card.not-tested .status { color: var(--untested); }
.card.not-reached { border-left-color: var(--muted); } .card.not-reached .status { color: var(--muted); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 8px; }
.fact { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.fact .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.fact .v { font-size: 18px; font-weight: 600; word-break: break-word; }
.fact .v .mono { font-size: inherit; }
.bar { height: 10px; background: #eaeef2; border-radius: 5px; overflow: hidden; margin-top: 4px; }
.bar span { display: block; height: 100%; background: var(--held); }
.bar.low span { background: var(--untested); }
table { border-collapse: collapse; background: #fff; }
table.matrix th, table.matrix td { border: 1px solid var(--line); padding: 4px 6px; text-align: center; }
table.matrix th.threat { vertical-align: bottom; height: 190px; width: 34px; }
table.matrix th.threat span { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; font-weight: 600; font-size: 13px; }
table.matrix th.inv { text-align: left; white-space: nowrap; }
table.matrix td { font-size: 16px; font-weight: 700; min-width: 30px; }
td.held { background: #dafbe1; color: var(--held); } td.broken { background: var(--broken); color: #fff; }
td.not-tested { background: #fff8c5; color: var(--untested); } td.partly-tested { background: #fffbe6; color: var(--partly); }
td.not-reached { background: #eaeef2; color: var(--muted); }
td.not-at-stake { background: #f6f8fa; color: #afb8c1; font-weight: 400; }
.legend { display: flex; gap: 16px; flex-wrap: wrap; font-size: 13px; color: var(--muted); margin: 8px 0; }
.legend .sw { display: inline-block; min-width: 20px; text-align: center; font-weight: 700; border: 1px solid var(--line); border-radius: 3px; margin-right: 4px; }
.scroll { overflow-x: auto; }
ol.steps > li { margin-bottom: 8px; }
.steplabel { font-weight: 700; }
.placed { color: var(--path); font-size: 13px; } .unplaced { color: var(--muted); font-size: 13px; font-style: italic; }
ul.trail { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px 8px 30px; }
ul.trail li { margin: 2px 0; }
.failmsg { background: #fff5f5; border: 1px solid #ffcecb; border-radius: 6px; padding: 10px 14px; font-weight: 600; }
.note { color: var(--muted); font-size: 14px; }
details { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; margin: 10px 0; }
details > summary { cursor: pointer; font-weight: 600; }
figure { margin: 10px 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px; overflow-x: auto; }
figcaption { font-weight: 600; margin-bottom: 6px; }
${CHART_STYLE}.chartlegend .sw { display: inline-block; width: 26px; height: 12px; vertical-align: middle; margin-right: 4px; border-radius: 2px; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
`;

function invariantCards(report: RunReport): string {
  return invariantRows(report).map(({ id, status, statement, note, plugin }) => {
    return (
      `<div class="card ${slug(status)}" id="${esc(id)}"${plugin ? ' data-plugin="true"' : ''}><span class="id">${esc(id)}</span><span class="status">${esc(status)}</span>` +
      (plugin ? '<span class="note"> plug-in</span>' : '') +
      (status === 'held' && report.failure ? '<span class="note"> judged before the failure stopped the run</span>' : '') +
      `<p>${esc(statement)}</p>` +
      (status !== 'held' && status !== 'broken' && note ? `<p class="note">${esc(note)}</p>` : '') +
      '</div>'
    );
  }).join('\n');
}

function facts(report: RunReport, options: HtmlOptions): string {
  const fact = (k: string, v: string) => `<div class="fact"><div class="k">${esc(k)}</div><div class="v">${v}</div></div>`;
  const c = report.coverage;
  return [
    fact('seed', `<span class="mono">${esc(report.seed)}</span>`),
    fact('profile', `${esc(report.profile)} <span class="note">${esc(report.profileVersion)}</span>`),
    fact('level', `${esc(report.level.requested)} <span class="note">${report.level.met ? 'met' : 'not met'}${report.level.levelsMet.length > 0 ? `; meets ${esc(report.level.levelsMet.join(', '))}` : ''}</span>`),
    fact('steps', `${esc(report.counts.steps)} <span class="note">in ${esc(report.counts.runs)} runs${report.counts.shrinkRuns ? ` (+${esc(report.counts.shrinkRuns)} shrink attempts)` : ''}</span>`),
    fact('random runs', `${esc(report.counts.randomRuns)} of ${esc(report.campaign.requestedRuns)} <span class="note">${esc(report.campaign.stoppedBy)}</span>`),
    fact('prelude scenarios', esc(report.counts.preludeScenarios)),
    fact('effects observed', esc(report.counts.effects)),
    fact('duration', `${esc((report.durationMs / 1000).toFixed(1))} s`),
    fact(
      'model coverage',
      `${esc(c.percent)}% <span class="note">${esc(c.covered)}/${esc(c.total)} transitions</span><div class="bar${c.percent < 100 ? ' low' : ''}"><span style="width:${Math.max(0, Math.min(100, c.percent))}%"></span></div>`,
    ),
    fact('generated', `<span class="note">${esc(options.generatedAt.toISOString())}</span>`),
  ].join('\n');
}

function matrixTable(report: RunReport, matrix: ScenarioMatrix): string {
  const head = SCENARIOS.map(
    (s) => `<th class="threat" scope="col" title="${esc(s === 'history' ? 'the INV predicates over every recorded history' : THREATS[s])}"><span>${esc(s)}</span></th>`,
  ).join('');
  const rows = invariantRows(report).map(({ id, statement }) => {
    const cells = SCENARIOS.map((s) => {
      const cell = matrix.cells.find((c) => c.invariant === id && c.scenario === s)!;
      const title = `${id} × ${s}: ${cell.status}${cell.note ? ` — ${cell.note}` : ''}`;
      return `<td class="${slug(cell.status)}" title="${esc(title)}" data-invariant="${esc(id)}" data-scenario="${esc(s)}" data-status="${esc(cell.status)}">${CELL_MARK[cell.status]}</td>`;
    }).join('');
    return `<tr><th class="inv" scope="row" title="${esc(statement)}">${esc(id)}</th>${cells}</tr>`;
  }).join('\n');
  const legend = (Object.keys(CELL_MARK) as CellStatus[])
    .map((s) => `<span><span class="sw ${slug(s)}">${CELL_MARK[s]}</span>${esc(s)}</span>`)
    .join('');
  return `<div class="scroll"><table class="matrix"><thead><tr><th></th>${head}</tr></thead><tbody>${rows}</tbody></table></div><div class="legend">${legend}</div>`;
}

function notTestedSection(report: RunReport, matrix: ScenarioMatrix): string {
  const missing = report.coverage.missing;
  const items = matrix.notTested.map(
    (n) => `<li><span class="mono">${esc(n.scenario)}</span> — needs <code>${esc(n.needs)}</code>${n.threat ? ` <span class="note">(${esc(n.threat)})</span>` : ' <span class="note">(not attributed to one threat)</span>'}</li>`,
  );
  const invariants = invariantRows(report)
    .filter((row) => row.status === 'not tested' || row.status === 'not reached')
    .map((row) => `<li>${esc(row.id)} ${esc(row.status)}: ${esc(row.note ?? '')}</li>`);
  const all = [...invariants, ...items];
  return [
    all.length > 0 ? `<ul>${all.join('')}</ul>` : '<p>No scenario was skipped for want of a capability of the driver.</p>',
    missing.length > 0
      ? `<details><summary>${missing.length} model transition${missing.length === 1 ? '' : 's'} not exercised</summary><ul>${missing.map((m) => `<li class="mono">${esc(m)}</li>`).join('')}</ul></details>`
      : '',
  ].join('\n');
}

function contractFindingsSection(report: RunReport): string {
  if (report.contractFindings.length === 0) return '';
  const items = report.contractFindings.map((c) => `<li><span class="note">${esc(c.threat)}</span> ${esc(c.message)}</li>`).join('');
  return `
<h2 id="contract-findings">Contract findings</h2>
<p>${esc(report.counts.contractFindings)} request(s) were denied and nothing executed, but with a code of a check that did not fail (CONTRACT.md section 10). No invariant broke; the gate is still not compliant.</p>
<ul>${items}</ul>`;
}

function counterexample(report: RunReport, placements: readonly StepPlacement[], options: HtmlOptions): string {
  const f = report.failure;
  if (!f) return '';
  const steps = placements.map((p) => {
    const where = p.placed
      ? `<div class="placed">on the ${esc(p.chart)} chart: ${esc(describePath(p))}${options.explorer ? ` — <a class="explore" href="${esc(`${options.explorer}${explorerFragment(p.chart, p.prior, p.injected)}`)}">open in the model explorer</a>` : ''}</div>`
      : `<div class="unplaced">not placed on the chart: ${esc(p.why)}</div>`;
    return `<li><span class="steplabel mono">${esc(p.label)}</span>${where}</li>`;
  });
  const replay = [
    `seed ${f.seed}`,
    ...(f.path ? [`path ${f.path}`] : []),
    ...(f.replayPath ? [`replayPath ${f.replayPath}`] : []),
  ].join(', ');
  const named = f.invariants.length > 0 ? f.invariants.join(', ') : 'no invariant (the answer diverged from the model)';
  return `
<h2 id="counterexample">Counterexample</h2>
<p><strong>${esc(named)}</strong> broke under <strong>${esc(f.threat)}</strong>${f.threat !== 'history' ? ` <span class="note">(${esc(THREATS[f.threat])})</span>` : ''}
 — found in the ${esc(f.phase)} phase after ${esc(f.timeToDetectionMs)} ms${f.shrinks ? `, shrunk ${esc(f.shrinks)} times` : ''}.</p>
<div class="failmsg">${esc(f.message)}</div>
<h3>Steps</h3>
<ol class="steps">${steps.join('\n')}</ol>
<h3>What the system did</h3>
<ul class="trail mono">${f.trail.map((t) => `<li>${esc(t)}</li>`).join('\n')}</ul>
<h3>Replay</h3>
<pre>${esc(replay)}${options.replayCommand ? `\n${esc(options.replayCommand)}` : ''}</pre>
${options.replayCommand ? '' : '<p class="note">Replay with <code>failclosed replay FILE</code> on the counterexample file written with this run.</p>'}
<p class="note">The suite stops at its first failure: elsewhere, “held” means no violation was seen before it.</p>`;
}

function charts(report: RunReport, placements: readonly StepPlacement[]): string {
  const missing = new Set(report.coverage.missing);
  const placed = placements.filter((p) => p.placed);
  const figures = (Object.keys(CHARTS) as ChartId[]).map((chartId) => {
    const chart = CHARTS[chartId];
    const onPath = new Set<number>();
    const injected = new Set<number>();
    const steps = new Map<number, number[]>();
    for (const p of placed) {
      if (p.chart !== chartId) continue;
      for (const i of p.transitions) {
        onPath.add(i);
        steps.set(i, [...new Set([...(steps.get(i) ?? []), p.step])]);
        if (p.injected.includes(chart.transitions[i]!.event)) injected.add(i);
      }
    }
    const uncovered = new Set(chart.transitions.flatMap((t, i) => (missing.has(`${chartId}:${t.source}:${t.event}`) ? [i] : [])));
    const svg = chartSvg(chart, `chart-${chartId}`, { onPath, injected, uncovered, steps });
    const caption = `${CHART_TITLES[chartId]}${onPath.size > 0 ? ' — the counterexample’s path highlighted' : ''}`;
    const figure = `<figure><figcaption>${esc(caption)}</figcaption>${svg}</figure>`;
    // A chart the counterexample did not touch stays folded, so the page leads with what matters.
    const open = onPath.size > 0 || (!report.failure && chartId === 'gate') ? ' open' : '';
    return `<details${open}><summary>${esc(CHART_TITLES[chartId])}</summary>${figure}</details>`;
  });
  const unplaced = placements.filter((p) => !p.placed);
  const notice = !report.failure
    ? '<p class="note">No counterexample: the charts show what this run exercised (struck-through answers were not).</p>'
    : placed.length === 0
      ? `<p class="failmsg">The counterexample could not be placed on the statechart: its steps are commands, not answers to the model’s questions (${unplaced.map((p) => esc(p.label)).join(', ')}). The report does not guess a path.</p>`
      : `<p class="note">Highlighted: the model’s path for ${placed.length === 1 ? 'step' : 'steps'} ${placed.map((p) => p.step).join(', ')}, that is, what a compliant system does there; compare it with what the system did, above.${
          unplaced.length > 0 ? ` ${unplaced.length === 1 ? 'Step' : 'Steps'} ${unplaced.map((p) => p.step).join(', ')} could not be placed and ${unplaced.length === 1 ? 'is' : 'are'} not shown.` : ''
        }</p>`;
  const legend =
    '<div class="legend chartlegend">' +
    (placed.length > 0
      ? '<span><span class="sw" style="background:#ddf4ff;border:2px solid #0969da"></span>on the counterexample’s path</span>' +
        '<span><span class="sw" style="background:#fff1e6;border:2px solid #d4380d"></span>answer the harness arranged</span>'
      : '') +
    '<span><span class="sw mono" style="width:auto;color:#cf222e">CODE</span>the denial code a transition records</span>' +
    '<span><span class="sw" style="text-decoration:line-through;color:#afb8c1">x</span>not exercised by this run</span>' +
    '</div>';
  return `<h2 id="statechart">Statechart</h2>${notice}${legend}${figures.join('\n')}`;
}

export function renderReportHtml(report: RunReport, matrix: ScenarioMatrix, placements: readonly StepPlacement[], options: HtmlOptions): string {
  const title = `failclosed: ${report.verdict} — ${report.target}`;
  const histories = matrix.histories?.histories === 0
    ? '<p class="note">No recorded history was judged: the run stopped before the INV predicates ran over one.</p>'
    : matrix.histories
    ? `<p class="note">The INV predicates judged ${esc(matrix.histories.histories)} recorded histor${matrix.histories.histories === 1 ? 'y' : 'ies'} (${esc(matrix.histories.events)} events, ${esc(matrix.histories.auditRecords)} audit records); items examined: ${INVARIANT_IDS.map((id) => `${id} ${esc(matrix.histories!.examined[id])}`).join(', ')}.</p>`
    : '';
  const logs = options.logs
    ? `<h2 id="logs">Logs of the system under test</h2><details><summary>${esc(options.logs.split('\n').length)} lines (the end of what it printed)</summary><pre>${esc(options.logs)}</pre></details>`
    : '';
  const siblings = options.siblings?.length
    ? ` Also in this folder: ${options.siblings.map((s) => `<a href="${esc(encodeURI(s))}">${esc(s)}</a>`).join(', ')}.`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>failclosed conformance report</h1>
<p class="sub">${esc(report.target)}${options.targetDigest ? ` <span class="mono">${esc(options.targetDigest)}</span>` : ''}</p>
<section class="verdict ${slug(report.verdict)}"><span class="word">${esc(report.verdict)}</span><span class="exit">exit status ${esc(report.exitCode)}</span></section>
${report.reasons.length > 0 ? `<ul class="reasons">${report.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>` : ''}
<h2 id="invariants">Invariants</h2>
<div class="cards">
${invariantCards(report)}
</div>
<h2 id="run">The run</h2>
<div class="facts">
${facts(report, options)}
</div>
<h2 id="matrix">Invariant × threat scenario</h2>
<p class="note">Each column is a threat scenario of the suite; a cell is judged where the threat puts the invariant at stake. “history”: the invariant’s predicate over every recorded history.</p>
${matrixTable(report, matrix)}
${histories}
<h2 id="not-tested">Not tested</h2>
${notTestedSection(report, matrix)}
${contractFindingsSection(report)}
${counterexample(report, placements, options)}
${charts(report, placements)}
${logs}
<footer>Written by failclosed (${esc(report.version)}, ${esc(report.profileVersion)}) at ${esc(options.generatedAt.toISOString())}.${siblings}</footer>
</main>
</body>
</html>
`;
}
