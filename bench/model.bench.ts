/**
 * The oracle's speed: model transitions per second when the suite asks for predictions, next to
 * a minimal XState machine stepped the same number of times in the same process (the ratio is
 * what our chart costs over XState itself). Target: ≥ 5,000 model steps per second.
 */
import { createMachine, initialTransition, transition } from 'xstate';
import { enumerateGateScenarios, memoryFor, predictRequest } from '../model/predict.ts';
import { scenarioOf } from '../model/simulate.ts';
import type { BenchResult } from './run.ts';

const TARGET_STEPS_PER_SEC = 5_000;
const DURATION_MS = 2_000;

function measure(step: () => number): { steps: number; ms: number } {
  const start = performance.now();
  let steps = 0;
  while (performance.now() - start < DURATION_MS) steps += step();
  return { steps, ms: performance.now() - start };
}

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

  const modelRate = (model.steps / model.ms) * 1000;
  const bareRate = (bare.steps / bare.ms) * 1000;
  const ok = modelRate >= TARGET_STEPS_PER_SEC;
  return {
    name: 'model',
    ok,
    lines: [
      `model: ${Math.round(modelRate).toLocaleString('en')} model steps/s (answers to the chart's questions, predictions included), target ≥ ${TARGET_STEPS_PER_SEC.toLocaleString('en')}${ok ? '' : '  BELOW TARGET'}`,
      `model: bare XState toggle machine ${Math.round(bareRate).toLocaleString('en')} transitions/s in the same process; ratio model ÷ bare = ${(modelRate / bareRate).toFixed(3)}`,
    ],
  };
}
