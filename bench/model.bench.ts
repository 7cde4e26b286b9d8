/**
 * The oracle's speed: model transitions per second when the suite asks for predictions, next to
 * a minimal XState machine stepped with XState's pure `transition()` in the same process (the
 * ratio is what our chart costs over XState itself). Target (issue 11): model steps/s ≥ 0.5 of
 * the bare machine's transitions/s.
 *
 * The model steps on one inert actor scope per chart (model/simulate.ts) where `transition()`
 * builds a throwaway actor per call; a second line steps the bare machine on a reused scope too,
 * so that the share of the ratio that comes from that difference is in plain sight.
 */
import type { AnyActorScope } from 'xstate';
import { createActor, createMachine, initialTransition, transition } from 'xstate';
import { enumerateGateScenarios, memoryFor, predictRequest } from '../model/predict.ts';
import { scenarioOf } from '../model/simulate.ts';
import { judgeRatio } from './ratio-target.ts';
import type { BenchResult } from './run.ts';

const TARGET_RATIO = 0.5;
const DURATION_MS = 2_000;

function measure(step: () => number): { steps: number; ms: number } {
  const start = performance.now();
  let steps = 0;
  while (performance.now() - start < DURATION_MS) steps += step();
  return { steps, ms: performance.now() - start };
}

const perSecond = (m: { steps: number; ms: number }): number => (m.steps / m.ms) * 1000;

export async function run(): Promise<BenchResult> {
  const scenarios = enumerateGateScenarios().map((r) => ({ scenario: scenarioOf(r), memory: memoryFor(r.prior) }));
  let i = 0;
  const model = measure(() => {
    const s = scenarios[i++ % scenarios.length]!;
    return predictRequest(s.scenario, s.memory).steps.length;
  });

  const toggle = createMachine({ initial: 'a', states: { a: { on: { go: 'b' } }, b: { on: { go: 'a' } } } });
  const [start] = initialTransition(toggle);
  let snapshot = start;
  const bare = measure(() => {
    for (let k = 0; k < 10; k++) [snapshot] = transition(toggle, snapshot, { type: 'go' });
    return 10;
  });

  const self = createActor(toggle);
  const ignore = (): void => {};
  const scope: AnyActorScope = { self, id: '', sessionId: '', logger: ignore, defer: ignore, emit: ignore, system: self.system, stopChild: ignore, actionExecutor: ignore };
  let reused = start;
  const bareReused = measure(() => {
    for (let k = 0; k < 10; k++) reused = toggle.transition(reused, { type: 'go' }, scope);
    return 10;
  });

  const modelRate = perSecond(model);
  const verdict = judgeRatio(
    'model',
    { ratio: 'model steps/s ÷ bare XState transition()/s', direction: 'atLeast', bound: TARGET_RATIO },
    { label: 'model steps/s', value: modelRate },
    { label: 'bare XState toggle machine, transition()/s', value: perSecond(bare) },
  );
  return {
    name: 'model',
    ok: verdict.measurable,
    lines: [
      `model: ${Math.round(modelRate).toLocaleString('en')} model steps/s over the ${scenarios.length} gate scenarios (answers to the chart's questions, predictions included); bare XState toggle machine ${Math.round(perSecond(bare)).toLocaleString('en')} transitions/s with transition(), ${Math.round(perSecond(bareReused)).toLocaleString('en')}/s on a reused scope (the model's way), same process`,
      verdict.line,
      `model: (for scale) model steps/s ÷ bare on a reused scope = ${(modelRate / perSecond(bareReused)).toFixed(3)}: what the chart's size costs over a two-state machine, actor construction left out of both`,
    ],
  };
}
