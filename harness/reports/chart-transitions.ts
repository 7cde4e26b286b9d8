/**
 * The two statecharts as the reports draw them, and which of a chart's transitions a run takes.
 * Apart from chart-path.ts so that the model explorer page (harness/explorer/) can bundle it for
 * the browser without the report machinery around it.
 */
import type { AnyStateMachine, InspectedMicrostepEvent } from 'xstate';
import { createActor } from 'xstate';
import type { ChartDescription } from '../../model/describe.ts';
import { describeChart } from '../../model/describe.ts';
import { executionLayerMachine } from '../../model/execution-layer-machine.ts';
import { gateMachine } from '../../model/gate-machine.ts';
import type { ModelStep } from '../../model/simulate.ts';

export type ChartId = 'gate' | 'executionLayer';

export const MACHINES: Readonly<Record<ChartId, AnyStateMachine>> = { gate: gateMachine, executionLayer: executionLayerMachine };

export const CHARTS: Readonly<Record<ChartId, ChartDescription>> = {
  gate: describeChart(gateMachine),
  executionLayer: describeChart(executionLayerMachine),
};

export const CHART_TITLES: Readonly<Record<ChartId, string>> = {
  gate: 'Gate: one request through the pipeline',
  executionLayer: 'Execution Layer: a call made straight to it (INV-6)',
};

const pathOf = (node: { path: string[] }) => node.path.join('.') || '(root)';
const eventOf = (type: string) => (type === '' ? 'always' : type.startsWith('xstate.done.state.') ? 'done' : type);
const keyOf = (source: string, event: string, targets: readonly string[]) => `${source}|${event}|${targets.join(',')}`;

/**
 * The transitions the chart takes when its questions are answered in this order, eventless ones
 * (`done` of a parallel state, `always`) included: xstate reports every microstep to an inspector,
 * so nothing is inferred. Returned as indexes into `chart.transitions`.
 */
export function transitionsOfRun(machine: AnyStateMachine, chart: ChartDescription, input: unknown, steps: readonly ModelStep[]): number[] | string {
  const index = new Map(chart.transitions.map((t, i) => [keyOf(t.source, t.event, t.targets), i]));
  const taken: number[] = [];
  let unknown: string | undefined;
  const actor = createActor(machine, {
    input,
    inspect: (e) => {
      if (e.type !== '@xstate.microstep') return;
      for (const t of (e as InspectedMicrostepEvent)._transitions) {
        const key = keyOf(pathOf(t.source), eventOf(t.eventType), (t.target ?? []).map(pathOf));
        const i = index.get(key);
        if (i === undefined) unknown ??= key;
        else taken.push(i);
      }
    },
  });
  actor.start();
  for (const step of steps) actor.send({ type: `${step.question}.${step.answer}` });
  actor.stop();
  if (unknown) return `the chart took a transition its description does not list (${unknown})`;
  return taken;
}

