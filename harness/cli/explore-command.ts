/**
 * `failclosed explore`: the model's states, transitions, counts, shortest path to every terminal,
 * and a diagram. Reads only the model; touches no system under test.
 */
import { describeChart } from '../../model/describe.ts';
import { toDot, toMermaid, toText } from '../../model/diagram.ts';
import { executionLayerMachine } from '../../model/execution-layer-machine.ts';
import { gateMachine } from '../../model/gate-machine.ts';
import { modelCheck } from '../../model/model-check.ts';
import { shortestTerminalPaths } from '../../model/paths.ts';
import { PROFILE_VERSION } from '../../model/profile/denial-codes.ts';
import type { CommandSpec } from './command.ts';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_EXPLORER_PORT, buildExplorerHtml, serveExplorer } from '../explorer/explorer-page.ts';

const FORMATS = ['text', 'json', 'mermaid', 'dot'] as const;
const CHARTS = { gate: gateMachine, 'execution-layer': executionLayerMachine } as const;

export const exploreCommand: CommandSpec = {
  name: 'explore',
  summary: 'show the model: states, transitions, counts, shortest paths, diagram; or the explorer page',
  usage: 'failclosed explore [--format text|json|mermaid|dot] [--paths] [--chart gate|execution-layer] | --html FILE | --serve [--port N]',
  details: [
    '--html FILE       write the model explorer page: both statecharts as the reports draw them; step',
    '                  one request through by choosing the environment\'s answers and watch the',
    '                  active states, checks passed, acceptable denial codes, audit records, effects',
    '                  and the memory carried to the next request; every scenario and the shortest',
    '                  path to every terminal, each a permalink. Self-contained: open it from file://.',
    '                  Its predictions are the suite\'s own statecharts, bundled into the page',
    `--serve           serve that page on 127.0.0.1 (loopback only) until Ctrl-C`,
    `--port N          with --serve: the port (default ${DEFAULT_EXPLORER_PORT}; 0 picks a free one)`,
    '--format FORMAT   text (default), json (with counts), mermaid or dot (a diagram)',
    '--paths           add the shortest path (answers in order) to every terminal outcome',
    '--chart NAME      gate (default): one request through the Gate;',
    '                  execution-layer: a call made straight to the Execution Layer',
    '',
    'Exit status: 0, or 1 if the exhaustive model check finds a violation, 2 on a usage error.',
  ],
  options: {
    format: { type: 'string', default: 'text' },
    paths: { type: 'boolean', default: false },
    chart: { type: 'string', default: 'gate' },
    html: { type: 'string' },
    serve: { type: 'boolean', default: false },
    port: { type: 'string' },
  },
  async run(values, io) {
    if (values.port !== undefined && !values.serve) return io.usageError('--port goes with --serve');
    if (typeof values.html === 'string' || values.serve) {
      if (typeof values.html === 'string' && values.serve) return io.usageError('give --html FILE or --serve, not both');
      if (typeof values.html === 'string') {
        const file = resolve(values.html);
        writeFileSync(file, await buildExplorerHtml());
        io.out(`failclosed: the model explorer is in ${file} (open it in a browser; it works from file://)\n`);
        return 0;
      }
      const port = values.port === undefined ? DEFAULT_EXPLORER_PORT : Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) return io.usageError(`--port must be a port number, not "${String(values.port)}"`);
      let served;
      try {
        served = await serveExplorer(port);
      } catch (error) {
        return io.fail(`cannot serve on 127.0.0.1:${port}: ${(error as Error).message}`, 'pass --port N with a free port (0 picks one)');
      }
      io.out(`failclosed: the model explorer is at ${served.url} (loopback only); Ctrl-C stops it\n`);
      await new Promise<void>((done) => {
        const stop = () => served.server.close(() => done());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      return 0;
    }
    const format = String(values.format);
    const chartName = String(values.chart);
    if (!(FORMATS as readonly string[]).includes(format)) return io.usageError(`--format must be one of ${FORMATS.join(', ')}, not "${format}"`);
    if (!Object.hasOwn(CHARTS, chartName)) return io.usageError(`--chart must be gate or execution-layer, not "${chartName}"`);
    const chart = describeChart(CHARTS[chartName as keyof typeof CHARTS]);
    const report = modelCheck();
    const paths = values.paths && chartName === 'gate' ? shortestTerminalPaths() : undefined;

    if (format === 'mermaid') io.out(toMermaid(chart));
    else if (format === 'dot') io.out(toDot(chart));
    else if (format === 'json') {
      io.out(`${JSON.stringify({ profile: PROFILE_VERSION, chart, counts: report.counts, coverage: report.coverage, modelCheck: { ok: report.ok, violations: report.violations }, ...(paths ? { paths } : {}) }, null, 2)}\n`);
    } else {
      const c = report.counts;
      io.out(`failclosed model (${PROFILE_VERSION})\n`);
      io.out(`gate: ${c.gateStates} states, ${c.gateTransitions} transitions; execution layer: ${c.executionLayerStates} states, ${c.executionLayerTransitions} transitions\n`);
      io.out(`scenarios: ${c.gateScenarios} through the gate, ${c.directCallScenarios} direct calls, ${c.replaySequences} replay sequences; ${Object.keys(c.terminals).length} distinct terminal outcomes\n`);
      io.out(`model check: ${report.ok ? 'ok' : `${report.violations.length} violation(s)`}; transitions covered ${report.coverage.transitionsCovered}/${report.coverage.transitionsTotal}; denial codes reached ${report.coverage.codesReached.length}/${report.coverage.codesReached.length + report.coverage.codesMissing.length}\n\n`);
      io.out(toText(chart));
      if (paths) {
        io.out('\nshortest path to every terminal outcome:\n');
        for (const p of paths) io.out(`  ${p.terminal}${p.prior === 'none' ? '' : ` (prior history: ${p.prior})`}\n    ${p.steps.join(' → ')}\n`);
      } else if (values.paths) {
        io.out('\n(--paths is drawn for the gate chart only)\n');
      }
    }
    if (!report.ok) {
      io.err(`model check failed:\n${report.violations.map((v) => `  [${v.property}] ${v.message}${v.path ? ` at ${v.path.join(' → ')}` : ''}`).join('\n')}\n`);
      return 1;
    }
    return 0;
  },
};
