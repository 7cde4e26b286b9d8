/**
 * Placing a counterexample's steps on the statecharts. A step is placed only when its label is a
 * model scenario as the runner names them ("identityKey.revoked", "[nonceClaimed] healthy",
 * "direct call presentedEnvelope.absent"): then the model itself is run on those answers, and the
 * path it takes is exact. Commands of the random phase ("RevokedKey()") name no answers; they are
 * reported as not placed rather than guessed at.
 */
import type { ChartDescription, ChartTransition } from '../../model/describe.ts';
import type { PriorHistory } from '../../model/predict.ts';
import { MODEL_REQUEST, memoryFor, predictDirectCall, predictRequest } from '../../model/predict.ts';
import type { Question, Scenario } from '../../model/questions.ts';
import { isHealthy } from '../../model/questions.ts';
import { answerTokens } from './scenario-matrix.ts';
import type { ChartId } from './chart-transitions.ts';
import { CHARTS, MACHINES, transitionsOfRun } from './chart-transitions.ts';

export type { ChartId } from './chart-transitions.ts';
export { CHARTS, CHART_TITLES, transitionsOfRun } from './chart-transitions.ts';

export interface PlacedStep {
  placed: true;
  /** 1-based, as the report numbers the steps */
  step: number;
  label: string;
  chart: ChartId;
  prior: PriorHistory;
  /** indexes into CHARTS[chart].transitions, in the order taken */
  transitions: number[];
  /** the answers the harness arranged (the unhealthy ones) as `question.answer` */
  injected: string[];
  /** where the model ends: a compliant system answers so */
  terminal: string;
}

export interface UnplacedStep {
  placed: false;
  step: number;
  label: string;
  why: string;
}

export type StepPlacement = PlacedStep | UnplacedStep;

/** Every state a chart asks `question` in. */
function asks(chart: ChartDescription, question: Question): boolean {
  return chart.states.some((s) => s.asks === question);
}

const LABEL = /^(direct call )?(?:\[(nonceClaimed|approvalConsumed)\] )?(.+)$/;

export function placeStep(label: string, step: number): StepPlacement {
  const unplaced = (why: string): UnplacedStep => ({ placed: false, step, label, why });
  const m = LABEL.exec(label.trim());
  const rest = m?.[3] ?? '';
  const words = rest === 'healthy' ? [] : rest.split(/\s+/);
  const tokens = answerTokens(rest);
  if (!m || tokens.length !== words.length || tokens.some((t, i) => `${t.question}.${t.answer}` !== words[i])) {
    return unplaced('a command, not a list of answers to the model\'s questions: the report does not guess its path');
  }
  const chartId: ChartId = m[1] ? 'executionLayer' : 'gate';
  const chart = CHARTS[chartId];
  const prior = (m[2] ?? 'none') as PriorHistory;
  if (chartId === 'executionLayer' && prior === 'nonceClaimed') return unplaced('a direct call has no nonce to have claimed');
  const foreign = tokens.find((t) => !asks(chart, t.question));
  if (foreign) return unplaced(`the ${chartId} chart never asks ${foreign.question}`);
  const scenario: Record<string, string> = {};
  for (const t of tokens) {
    if (scenario[t.question] !== undefined && scenario[t.question] !== t.answer) return unplaced(`${t.question} is answered twice`);
    scenario[t.question] = t.answer;
  }
  let run;
  try {
    run = chartId === 'gate' ? predictRequest(scenario as Scenario, memoryFor(prior)) : predictDirectCall(scenario as Scenario, memoryFor(prior));
  } catch (error) {
    return unplaced(`the model cannot run these answers: ${(error as Error).message}`);
  }
  // The label must describe the run exactly: each of its answers asked, every unhealthy answer in it.
  const answered = run.steps.map((s) => `${s.question}.${s.answer}`);
  const injected = run.steps.filter((s) => !isHealthy(s.question, s.answer)).map((s) => `${s.question}.${s.answer}`);
  const named = tokens.map((t) => `${t.question}.${t.answer}`);
  if (named.some((n) => !answered.includes(n)) || injected.some((n) => !named.includes(n))) {
    return unplaced('the model never asks some of these answers on this path (the label is not a path of the model)');
  }
  const input = chartId === 'gate' ? { request: MODEL_REQUEST, memory: memoryFor(prior) } : { approvalId: MODEL_REQUEST.approvalId, requestId: MODEL_REQUEST.requestId, memory: memoryFor(prior) };
  const transitions = transitionsOfRun(MACHINES[chartId], chart, input, run.steps);
  if (typeof transitions === 'string') return unplaced(transitions);
  return { placed: true, step, label, chart: chartId, prior, transitions, injected, terminal: run.terminal };
}

export function placeSteps(commands: readonly string[]): StepPlacement[] {
  return commands.map((label, i) => placeStep(label, i + 1));
}

/** "structure: requestShape.wellFormed · lookUpKey: identityKey.revoked [KEY_REVOKED] · … ⇒ denied" */
export function describePath(placed: PlacedStep): string {
  const chart = CHARTS[placed.chart];
  const parts = placed.transitions.map((i) => {
    const t = chart.transitions[i] as ChartTransition;
    const event = t.event === 'done' ? 'all regions done' : t.event === 'always' ? 'then' : t.event;
    return `${t.source.slice(t.source.lastIndexOf('.') + 1)}: ${event}${t.code ? ` [${t.code}]` : ''}`;
  });
  return `${parts.join(' · ')} ⇒ ${placed.terminal}`;
}
