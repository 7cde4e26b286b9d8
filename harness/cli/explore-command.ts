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

const FORMATS = ['text', 'json', 'mermaid', 'dot'] as const;
const CHARTS = { gate: gateMachine, 'execution-layer': executionLayerMachine } as const;

export const exploreCommand: CommandSpec = {
  name: 'explore',
  summary: 'show the model: states, transitions, counts, shortest paths, diagram',
  usage: 'failclosed explore [--format text|json|mermaid|dot] [--paths] [--chart gate|execution-layer]',
  details: [
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
  },
  run(values, io) {
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
