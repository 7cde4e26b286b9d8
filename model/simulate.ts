/**
 * Running the statecharts: answer their questions from a scenario (one run), or with every
 * possible answer (the exhaustive enumeration). Pure: snapshots in, snapshots out, no actors.
 *
 * This is the only way predictions are made — there is no second, hand-written decision
 * function. The driver knows nothing of the Gate; it only answers what the chart asks.
 */
import type { AnyActorScope, AnyStateMachine, EventObject, MachineSnapshot } from 'xstate';
import { createActor } from 'xstate';
import type { AskMeta, AnswerEvent, Question, Scenario } from './questions.ts';
import { QUESTIONS, answerEvent, healthyAnswer } from './questions.ts';

export interface ModelStep {
  /** the active state path(s) that asked, e.g. "authenticate.identity.lookUpKey" */
  state: string;
  question: Question;
  answer: string;
}

export interface ModelRun<Outcome> {
  steps: ModelStep[];
  /** the top-level final state reached, e.g. "executed" or "denied" */
  terminal: string;
  outcome: Outcome;
}

type AnySnapshot = MachineSnapshot<any, any, any, any, any, any, any, any>;

/** A safety bound: the charts have no cycles, so a run longer than this is a model bug. */
const MAX_STEPS = 64;

/** The questions the active waiting states ask, in document order (first = answered first). */
export function askedQuestions(snapshot: AnySnapshot): { state: string; question: Question }[] {
  const asked: { state: string; question: Question }[] = [];
  for (const [stateId, meta] of Object.entries(snapshot.getMeta() as Record<string, AskMeta | undefined>)) {
    if (meta?.asks) asked.push({ state: stateId.replace(/^[^.]+\./, ''), question: meta.asks });
  }
  return asked;
}

/**
 * XState's pure `transition()` builds a throwaway actor on every call, and that actor's
 * constructor runs the chart's context factory without input (which throws, caught inside
 * XState): over half of a model step's cost. The charts have no children, delays or custom
 * actions, so nothing reads the scope but the assign actions' arguments, which ours ignore: one
 * inert scope per chart, made the way `transition()` makes its own, does the same work once.
 */
const inertScopes = new WeakMap<AnyStateMachine, AnyActorScope>();

function inertScope(machine: AnyStateMachine, input: unknown): AnyActorScope {
  let scope = inertScopes.get(machine);
  if (!scope) {
    const self = createActor(machine, { input });
    const ignore = (): void => {};
    scope = { self, id: '', sessionId: '', logger: ignore, defer: ignore, emit: ignore, system: self.system, stopChild: ignore, actionExecutor: ignore };
    inertScopes.set(machine, scope);
  }
  return scope;
}

/** `initialTransition(machine, input)` of XState, on the chart's inert scope. */
export function initialSnapshot(machine: AnyStateMachine, input: unknown): AnySnapshot {
  return machine.getInitialSnapshot(inertScope(machine, input), input) as AnySnapshot;
}

/** `transition(machine, snapshot, event)` of XState, on the chart's inert scope. */
export function nextSnapshot(machine: AnyStateMachine, snapshot: AnySnapshot, event: EventObject): AnySnapshot {
  return machine.transition(snapshot, event, inertScope(machine, undefined)) as AnySnapshot;
}

function terminalOf(snapshot: AnySnapshot): string {
  const value = snapshot.value;
  return typeof value === 'string' ? value : Object.keys(value).join('|');
}

function send(machine: AnyStateMachine, snapshot: AnySnapshot, event: AnswerEvent, step: ModelStep): AnySnapshot {
  const next = nextSnapshot(machine, snapshot, event);
  if (next === snapshot || (next.context === snapshot.context && JSON.stringify(next.value) === JSON.stringify(snapshot.value))) {
    throw new Error(`model bug: state ${step.state} asks ${step.question} but ignores the answer "${step.answer}"`);
  }
  return next as AnySnapshot;
}

/** One run: every question is answered from the scenario, or healthily when it is silent. */
export function runScenario<Outcome>(machine: AnyStateMachine, input: unknown, scenario: Scenario): ModelRun<Outcome> {
  let snapshot = initialSnapshot(machine, input);
  const steps: ModelStep[] = [];
  while (snapshot.status === 'active') {
    const [first] = askedQuestions(snapshot);
    if (!first) throw new Error(`model bug: state ${JSON.stringify(snapshot.value)} is active but asks nothing`);
    if (steps.length >= MAX_STEPS) throw new Error('model bug: run exceeds the step bound');
    const answer = (scenario[first.question] ?? healthyAnswer(first.question)) as string;
    const step = { ...first, answer };
    snapshot = send(machine, snapshot, answerEvent(first.question, answer as never), step);
    steps.push(step);
  }
  if (snapshot.status !== 'done') throw new Error(`model bug: run ended with status ${snapshot.status}`);
  return { steps, terminal: terminalOf(snapshot), outcome: snapshot.output as Outcome };
}

/**
 * Every run the chart distinguishes from one input: depth-first, branching over every answer to
 * the first question asked. Parallel regions are answered one region at a time, so their
 * combinations are all explored once (no interleavings counted twice).
 */
export function enumerateRuns<Outcome>(machine: AnyStateMachine, input: unknown): ModelRun<Outcome>[] {
  const runs: ModelRun<Outcome>[] = [];
  const initial = initialSnapshot(machine, input);
  const explore = (snapshot: AnySnapshot, steps: ModelStep[]): void => {
    if (snapshot.status === 'done') {
      runs.push({ steps, terminal: terminalOf(snapshot), outcome: snapshot.output as Outcome });
      return;
    }
    const [first] = askedQuestions(snapshot);
    if (!first) throw new Error(`model bug: state ${JSON.stringify(snapshot.value)} is active but asks nothing`);
    if (steps.length >= MAX_STEPS) throw new Error('model bug: run exceeds the step bound');
    for (const answer of QUESTIONS[first.question] as readonly string[]) {
      const step = { ...first, answer };
      explore(send(machine, snapshot, answerEvent(first.question, answer as never), step), [...steps, step]);
    }
  };
  explore(initial, []);
  return runs;
}

/** The scenario a run answered (what the harness must reproduce on a real system). */
export function scenarioOf(run: ModelRun<unknown>): Scenario {
  const scenario: Record<string, string> = {};
  for (const step of run.steps) scenario[step.question] = step.answer;
  return scenario as Scenario;
}
