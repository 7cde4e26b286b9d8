/**
 * The oracle's public face: what a compliant system must do in a scenario, obtained by running
 * the statecharts. Suites call `predictRequest` / `predictDirectCall`; the model check and the
 * differential tests call the `enumerate…` functions for every scenario the model distinguishes.
 */
import type { DirectCallOutcome } from './execution-layer-machine.ts';
import { executionLayerMachine } from './execution-layer-machine.ts';
import type { GateOutcome } from './gate-machine.ts';
import { gateMachine } from './gate-machine.ts';
import type { Scenario } from './questions.ts';
import type { ModelRun } from './simulate.ts';
import { enumerateRuns, runScenario } from './simulate.ts';
import type { ModelRequest, SystemMemory } from './system-memory.ts';
import { EMPTY_MEMORY, nonceKeyOf } from './system-memory.ts';

/** The abstract request every enumerated scenario is about. */
export const MODEL_REQUEST: ModelRequest = {
  requestId: 'req-1',
  identity: 'alice',
  action: 'deploy',
  nonce: 'nonce-0000000000000001',
  approvalId: 'approval-1',
};

/** What the system remembers before the request arrives. */
export const PRIOR_HISTORIES = ['none', 'nonceClaimed', 'approvalConsumed'] as const;
export type PriorHistory = (typeof PRIOR_HISTORIES)[number];

export function memoryFor(prior: PriorHistory, request: ModelRequest = MODEL_REQUEST): SystemMemory {
  switch (prior) {
    case 'none':
      return EMPTY_MEMORY;
    case 'nonceClaimed':
      return { ...EMPTY_MEMORY, claimedNonces: [nonceKeyOf(request)] };
    case 'approvalConsumed':
      return { ...EMPTY_MEMORY, consumedApprovals: [request.approvalId] };
  }
}

export type GateRun = ModelRun<GateOutcome>;
export type DirectCallRun = ModelRun<DirectCallOutcome>;

/** What each prediction was asked: kept beside the run, so a judge can ask the model again with one answer changed. */
const ASKED = new WeakMap<GateRun, PredictionInput>();

export interface PredictionInput {
  scenario: Scenario;
  memory: SystemMemory;
  request: ModelRequest;
}

export function predictRequest(
  scenario: Scenario,
  memory: SystemMemory = EMPTY_MEMORY,
  request: ModelRequest = MODEL_REQUEST,
): GateRun {
  const run = runScenario<GateOutcome>(gateMachine, { request, memory }, scenario);
  ASKED.set(run, { scenario, memory, request });
  return run;
}

/** The scenario, memory and request a run of `predictRequest` was predicted from. */
export function predictionInput(run: GateRun): PredictionInput | undefined {
  return ASKED.get(run);
}

export function predictDirectCall(
  scenario: Scenario,
  memory: SystemMemory = EMPTY_MEMORY,
  envelope: { approvalId: string; requestId: string } = { approvalId: MODEL_REQUEST.approvalId, requestId: MODEL_REQUEST.requestId },
): DirectCallRun {
  return runScenario<DirectCallOutcome>(executionLayerMachine, { ...envelope, memory }, scenario);
}

export interface GateScenarioRun extends GateRun {
  prior: PriorHistory;
}

/**
 * Every gate scenario of the model: each prior history × each answer path. No two are merged even
 * when their outcomes agree: whether the prior history was consulted is exactly what a broken
 * system (or a broken model) gets wrong.
 */
export function enumerateGateScenarios(machine = gateMachine, request: ModelRequest = MODEL_REQUEST): GateScenarioRun[] {
  return PRIOR_HISTORIES.flatMap((prior) =>
    enumerateRuns<GateOutcome>(machine, { request, memory: memoryFor(prior, request) }).map((run) => ({ ...run, prior })),
  );
}

export interface DirectCallScenarioRun extends DirectCallRun {
  prior: PriorHistory;
}

export function enumerateDirectCallScenarios(machine = executionLayerMachine): DirectCallScenarioRun[] {
  return (['none', 'approvalConsumed'] as const).flatMap((prior) => {
    const input = { approvalId: MODEL_REQUEST.approvalId, requestId: MODEL_REQUEST.requestId, memory: memoryFor(prior) };
    return enumerateRuns<DirectCallOutcome>(machine, input).map((run) => ({ ...run, prior }));
  });
}
