/**
 * The model explorer page (`failclosed explore --html FILE | --serve`): one self-contained HTML
 * file that works from file:// — the two statecharts drawn as the reports draw them (chart-svg.ts),
 * and page-main.ts bundled by esbuild with the model itself (the XState machines, predict.ts,
 * paths.ts), so every prediction on the page is the oracle's own.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { PROFILE_VERSION } from '../../model/profile/denial-codes.ts';
import { CHARTS, CHART_TITLES } from '../reports/chart-transitions.ts';
import { chartSvg } from '../reports/chart-svg.ts';
import { escapeMarkup as esc } from '../reports/escape.ts';
import { CHART_STYLE } from '../reports/report-html.ts';

export const DEFAULT_EXPLORER_PORT = 8780;

const ENTRY = fileURLToPath(new URL('page-main.ts', import.meta.url));

/** page-main.ts and everything it imports, as one browser script. */
export async function bundleExplorerScript(): Promise<string> {
  // Loaded when a page is built only: the rest of the CLI never needs a bundler.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

const PAGE_STYLE = `
:root { --muted:#6e7781; --line:#d0d7de; --path:#0969da; --inject:#d4380d; --held:#1a7f37; --broken:#cf222e; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 0; }
header { padding: 12px 20px; border-bottom: 1px solid var(--line); display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; }
.muted { color: var(--muted); }
main { display: grid; grid-template-columns: minmax(0, 1fr) 420px; gap: 16px; padding: 16px 20px; }
.charts { overflow: auto; border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
.tabs button { font: inherit; padding: 4px 10px; border: 1px solid var(--line); background: #f6f8fa; border-radius: 6px; cursor: pointer; }
.tabs button[aria-selected="true"] { background: var(--path); color: #fff; border-color: var(--path); }
aside section { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; margin-bottom: 12px; }
aside h2, .lists h2 { font-size: 14px; margin: 0 0 6px; }
button.answer { font: 12px ui-monospace, monospace; margin: 4px 4px 0 0; padding: 3px 8px; border: 1px solid var(--inject); color: var(--inject); background: #fff; border-radius: 6px; cursor: pointer; }
button.answer.healthy { border-color: var(--held); color: var(--held); }
.decision { font-weight: 700; text-transform: uppercase; }
.decision.executed { color: var(--held); } .decision.denied { color: var(--broken); }
pre { font-size: 11px; background: #f6f8fa; padding: 6px; border-radius: 6px; white-space: pre-wrap; max-height: 180px; overflow: auto; margin: 4px 0; }
ul { margin: 4px 0; padding-left: 18px; }
.lists { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; padding: 0 20px 20px; }
.lists ul { max-height: 360px; overflow: auto; font-size: 13px; }
svg.chart .state.on-path rect { fill: #ddf4ff; }
.chart-wrap h2 { font-size: 15px; margin: 4px 0 8px; }
`;

export async function buildExplorerHtml(): Promise<string> {
  const script = (await bundleExplorerScript()).replace(/<\/script/gi, '<\\/script');
  const charts = (['gate', 'executionLayer'] as const)
    .map((id) => `<div class="chart-wrap" id="chart-${id}"${id === 'gate' ? '' : ' hidden'}><h2>${esc(CHART_TITLES[id])}</h2>${chartSvg(CHARTS[id], `svg-${id}`)}</div>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>failclosed model explorer</title>
<style>${PAGE_STYLE}${CHART_STYLE}</style></head>
<body>
<header><h1>failclosed model explorer</h1><span class="muted">${esc(PROFILE_VERSION)} — every prediction below is the suite's own statechart run in this page</span>
<span class="tabs"><button type="button" data-chart-tab="gate" aria-selected="true">Gate</button> <button type="button" data-chart-tab="executionLayer" aria-selected="false">Execution Layer (direct call)</button></span>
<a id="permalink" href="#">permalink</a> <button type="button" id="restart">start again</button></header>
<main>
<div class="charts">${charts}</div>
<aside>
<section><h2>Memory carried into this request</h2><div id="memory"></div><div class="muted" id="request"></div></section>
<section><h2>The environment's answer</h2><div id="question"></div><h2 style="margin-top:8px">Answers so far</h2><ul id="answers"></ul><div class="muted">active: <span id="active"></span></div></section>
<section id="outcome" hidden><h2>What the model predicts</h2>
<div>decision: <span id="outcome-decision"></span></div>
<div>acceptable denial codes:<ul id="outcome-codes"></ul></div>
<div>checks passed: <span id="outcome-passed"></span></div>
<div>audit records:<pre id="outcome-audit"></pre></div>
<div>effects:<pre id="outcome-effects"></pre></div>
<div>memory after:<pre id="outcome-memory"></pre></div>
<div><button type="button" data-next="same">send the same request again</button> <button type="button" data-next="fresh">send a fresh request</button> <span class="muted">(the memory is carried)</span></div>
<pre id="outcome-json" hidden></pre>
</section>
</aside>
</main>
<div class="lists">
<section><h2>Shortest path to every terminal outcome</h2><ul id="paths"></ul><h3>Calls made straight to the Execution Layer</h3><ul id="direct-paths"></ul></section>
<section><h2>Every scenario of the model <span class="muted" id="scenario-count"></span></h2><ul id="scenarios"></ul></section>
</div>
<script>${script}</script>
</body></html>
`;
}

/** Serves the page on loopback only; resolves once listening (port 0: a free one). */
export async function serveExplorer(port: number): Promise<{ server: Server; url: string }> {
  const html = await buildExplorerHtml();
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the explorer is at /\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://127.0.0.1:${actual}/` };
}
