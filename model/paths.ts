/**
 * Shortest paths to every terminal outcome, found by @xstate/graph's traversal — independent of
 * our own enumeration in simulate.ts, so each can check the other. A terminal outcome is
 * `executed` or `denied(codes)`; prior histories are explored as separate starting points.
 */
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { getShortestPaths } from '@xstate/graph';
import { gateMachine } from './gate-machine.ts';
import type { PriorHistory } from './predict.ts';
import { MODEL_REQUEST, PRIOR_HISTORIES, enumerateDirectCallScenarios, memoryFor } from './predict.ts';
import type { AnswerEvent } from './questions.ts';
import { QUESTIONS, answerEvent } from './questions.ts';
import { askedQuestions } from './simulate.ts';

export interface TerminalPath {
  /** "executed" or "denied(CODE|CODE)" */
  terminal: string;
  prior: PriorHistory;
  /** answers in order, as `question.answer` */
  steps: string[];
}

type Snapshot = AnyMachineSnapshot;

function answersAsked(snapshot: Snapshot): AnswerEvent[] {
  const [first] = askedQuestions(snapshot);
  return first ? (QUESTIONS[first.question] as readonly string[]).map((a) => answerEvent(first.question, a as never)) : [];
}

export function terminalKey(decision: string, codes: readonly string[]): string {
  return decision === 'executed' ? 'executed' : `denied(${[...new Set(codes)].sort().join('|')})`;
}

export function shortestTerminalPaths(machine: AnyStateMachine = gateMachine): TerminalPath[] {
  const best = new Map<string, TerminalPath>();
  for (const prior of PRIOR_HISTORIES) {
    const paths = getShortestPaths(machine, {
      input: { request: MODEL_REQUEST, memory: memoryFor(prior) },
      events: answersAsked as never,
      // Two snapshots are the same vertex when they sit in the same states with the same failures.
      serializeState: (s: Snapshot) =>
        JSON.stringify([s.value, [...new Set(s.context.failures as string[])].sort(), s.status]),
    });
    for (const path of paths) {
      if (path.state.status !== 'done') continue;
      const output = path.state.output as { decision: string; acceptableCodes: string[] };
      const terminal = terminalKey(output.decision, output.acceptableCodes);
      const steps = path.steps.map((s) => s.event.type).filter((t) => !t.startsWith('xstate.'));
      const known = best.get(terminal);
      if (!known || steps.length < known.steps.length) best.set(terminal, { terminal, prior, steps });
    }
  }
  return [...best.values()].sort((a, b) => a.steps.length - b.steps.length || a.terminal.localeCompare(b.terminal));
}

/**
 * The shortest path to every terminal outcome of a call made straight to the Execution Layer.
 * Its chart asks few questions, so the exhaustive enumeration is small and its shortest run per
 * outcome is exact; the Gate's, above, is found by graph traversal instead.
 */
export function shortestDirectCallPaths(): TerminalPath[] {
  const best = new Map<string, TerminalPath>();
  for (const run of enumerateDirectCallScenarios()) {
    const terminal = terminalKey(run.terminal === 'executed' ? 'executed' : 'denied', (run.outcome as { acceptableCodes?: string[] }).acceptableCodes ?? []);
    const steps = run.steps.map((s) => `${s.question}.${s.answer}`);
    const known = best.get(terminal);
    if (!known || steps.length < known.steps.length) best.set(terminal, { terminal, prior: run.prior, steps });
  }
  return [...best.values()].sort((a, b) => a.steps.length - b.steps.length || a.terminal.localeCompare(b.terminal));
}
