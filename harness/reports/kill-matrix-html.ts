/**
 * The kill matrix as one self-contained HTML page (no scripts, no external resources): a row per
 * planted-bug variant, a column per invariant, the reference on top. `formatKillMatrix` is the
 * terminal's version of the same table.
 */
import { writeFile } from 'node:fs/promises';
import type { KillMatrix, KillRow } from '../../conformance/mutants/kill-matrix.ts';
import { median } from '../../conformance/mutants/kill-matrix.ts';
import { INVARIANT_CHECKS } from '../../model/invariants/index.ts';
import { INVARIANT_IDS } from '../../model/profile/denial-codes.ts';
import { escapeMarkup as esc } from './escape.ts';

const STYLE = `
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1f2328; background: #f6f8fa; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
.sub, .note { color: #6e7781; }
.banner { margin: 16px 0; padding: 14px 20px; border-radius: 10px; color: #fff; font-size: 26px; font-weight: 800; }
.banner.ok { background: #1a7f37; } .banner.failed { background: #cf222e; }
.banner small { font-size: 14px; font-weight: 400; margin-left: 12px; }
/*
 * The table never needs more than its container: a fixed layout with the column widths of COLUMNS
 * (the description takes what is left), and every text cell wraps — a variant id at its hyphens, a
 * long token anywhere. Narrower than the fixed columns, it scrolls inside .table-wrap instead of
 * being cut.
 */
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; background: #fff; width: 100%; table-layout: fixed; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f6f8fa; text-align: left; }
td.inv { text-align: center; font-weight: 700; }
/* caught is the good news here: dark, not alarm red */
td.caught { background: #24292f; color: #fff; } td.expected { background: #fff8c5; color: #8a6d00; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
tr.missed td { background: #ffebe9; }
.verdict-caught { color: #1a7f37; font-weight: 700; } .verdict-missed { color: #cf222e; font-weight: 700; } .verdict-na { color: #6e7781; }
details { margin-top: 2px; } summary { cursor: pointer; color: #6e7781; }
`;

/** The columns, in order, with their widths (em); the description has none: it takes the rest. */
export const COLUMNS: readonly { head: string; width?: number }[] = [
  { head: 'variant', width: 15 },
  { head: 'what is broken' },
  ...INVARIANT_IDS.map((id) => ({ head: id, width: 3.5 })),
  { head: 'phase', width: 8 },
  { head: 'detect ms', width: 5 },
  { head: 'steps', width: 4 },
  { head: 'run ms', width: 5 },
  { head: 'verdict', width: 9 },
];

function verdictCell(row: KillRow): string {
  if (row.applicable === false) return `<span class="verdict-na">${row.onlyOver === 'http' ? 'over HTTP only' : 'in-process only'}</span>`;
  if (row.verdict === 'non-compliant') return '<span class="verdict-caught">caught</span>';
  return `<span class="verdict-missed">NOT CAUGHT (${esc(row.verdict)})</span>`;
}

export function renderKillMatrixHtml(matrix: KillMatrix, generatedAt: Date = new Date()): string {
  const heads = COLUMNS.map((c) => {
    const statement = (INVARIANT_IDS as readonly string[]).includes(c.head) ? INVARIANT_CHECKS[c.head as (typeof INVARIANT_IDS)[number]].statement : undefined;
    return `<th${statement ? ` title="${esc(statement)}"` : ''}>${esc(c.head)}</th>`;
  }).join('');
  const cols = COLUMNS.map((c) => (c.width === undefined ? '<col>' : `<col style="width: ${c.width}em">`)).join('');
  const reference =
    `<tr><td class="id">reference</td><td>the unmodified reference; must be compliant</td>${INVARIANT_IDS.map(() => '<td class="inv"></td>').join('')}` +
    `<td>-</td><td class="num">-</td><td class="num">-</td><td class="num">${esc(matrix.reference.durationMs)}</td>` +
    `<td>${matrix.reference.verdict === 'compliant' ? '<span class="verdict-caught">compliant</span>' : `<span class="verdict-missed">${esc(matrix.reference.verdict)}</span>`}` +
    `${matrix.reference.reasons.length ? `<div class="note">${matrix.reference.reasons.map(esc).join('<br>')}</div>` : ''}</td></tr>`;
  const rows = matrix.rows.map((row) => {
    const marks = INVARIANT_IDS.map((id) =>
      row.caughtBy.includes(id)
        ? `<td class="inv caught" title="caught by ${id}">✗</td>`
        : row.expected.includes(id)
          ? `<td class="inv expected" title="expected ${id}, not the one reported">·</td>`
          : '<td class="inv"></td>',
    ).join('');
    const missed = row.applicable !== false && row.verdict !== 'non-compliant';
    const message = row.message ? `<details><summary>why</summary>${esc(row.message)}</details>` : '';
    return (
      `<tr${missed ? ' class="missed"' : ''}><td class="id">${esc(row.id)}</td><td class="breaks">${esc(row.breaks)}${message}</td>${marks}` +
      `<td class="phase">${esc(row.phase ?? '-')}${row.threat ? `<div class="note">${esc(row.threat)}</div>` : ''}</td>` +
      `<td class="num">${esc(row.timeToDetectionMs ?? '-')}</td><td class="num">${esc(row.counterexampleLength ?? '-')}</td>` +
      `<td class="num">${esc(row.durationMs)}</td><td>${verdictCell(row)}</td></tr>`
    );
  });
  const caught = matrix.rows.filter((r) => r.verdict === 'non-compliant');
  const applicable = matrix.rows.filter((r) => r.applicable !== false);
  const times = caught.flatMap((r) => (r.timeToDetectionMs === undefined ? [] : [r.timeToDetectionMs]));
  const lengths = caught.flatMap((r) => (r.counterexampleLength === undefined ? [] : [r.counterexampleLength]));
  const inPrelude = caught.filter((r) => r.phase === 'prelude').length;
  const summary =
    `${caught.length}/${applicable.length} variants caught (${inPrelude} in the prelude, ${caught.length - inPrelude} in the random phase); ` +
    `median time to detection ${median(times) ?? '-'} ms, median counterexample ${median(lengths) ?? '-'} steps`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`failclosed kill matrix: ${matrix.ok ? 'OK' : 'FAILED'}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>failclosed kill matrix</h1>
<p class="sub">${esc(matrix.profile)} profile, seed ${esc(matrix.seed)}, ${esc(matrix.over)}${matrix.skipPrelude ? ', random phase only' : ''}</p>
<div class="banner ${matrix.ok ? 'ok' : 'failed'}">${matrix.ok ? 'OK' : 'FAILED'}<small>reference ${esc(matrix.reference.verdict)}; ${esc(summary)}</small></div>
<p class="note">Each variant is the reference with one planted bug. A variant the suite does not catch is a blind spot of the suite. ✗: caught by that invariant; ·: expected, but not the one reported; a caught row without ✗ was caught by the model (an answer it does not allow, no invariant broken).</p>
<div class="table-wrap">
<table>
<colgroup>${cols}</colgroup>
<thead><tr>${heads}</tr></thead>
<tbody>
${reference}
${rows.join('\n')}
</tbody>
</table>
</div>
<p class="note">Written at ${esc(generatedAt.toISOString())}.</p>
</main>
</body>
</html>
`;
}

/** Writes the page; for `failclosed mutants --json FILE`, e.g. beside FILE as FILE.html. */
export async function writeKillMatrixHtml(file: string, matrix: KillMatrix, generatedAt?: Date): Promise<void> {
  await writeFile(file, renderKillMatrixHtml(matrix, generatedAt), 'utf8');
}
