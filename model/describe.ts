/**
 * The statecharts' structure as plain data — states, the question each waiting state asks, and
 * every transition with its guard and actions — for `failclosed explore`, diagrams and coverage.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import type { AskMeta, Question } from './questions.ts';

export interface ChartState {
  /** dotted path below the root, e.g. "authenticate.identity.lookUpKey" */
  path: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  asks?: Question;
  description?: string;
}

export interface ChartTransition {
  source: string;
  /** an answer event such as "controlPlane.timeout", "always", or "done" (all regions finished) */
  event: string;
  targets: string[];
  guard?: string;
  actions: string[];
  /** the denial code this transition records, if any */
  code?: string;
}

export interface ChartDescription {
  id: string;
  states: ChartState[];
  transitions: ChartTransition[];
}

function pathOf(node: AnyStateNode): string {
  return node.path.join('.') || '(root)';
}

function nameOf(item: unknown): string {
  if (typeof item === 'string') return item;
  if (item && typeof item === 'object' && 'type' in item) {
    const { type, params } = item as { type: string; params?: Record<string, unknown> };
    if (params && 'code' in params) return `${type}(${String(params.code)})`;
    if (params && 'check' in params) return `${type}(${String(params.check)})`;
    if (params && 'checks' in params) return `${type}(${(params.checks as string[]).join(',')})`;
    return type;
  }
  return typeof item === 'function' ? item.name || '(inline)' : String(item);
}

export function describeChart(machine: AnyStateMachine): ChartDescription {
  const states: ChartState[] = [];
  const transitions: ChartTransition[] = [];
  const visit = (node: AnyStateNode): void => {
    if (node.path.length > 0) {
      const meta = node.meta as AskMeta | undefined;
      states.push({
        path: pathOf(node),
        type: node.type,
        ...(meta?.asks ? { asks: meta.asks, description: meta.description } : {}),
      });
    }
    const definitions = [...node.transitions.values()].flat().concat(node.always ?? []);
    for (const t of definitions) {
      const event = t.eventType === '' ? 'always' : t.eventType.startsWith('xstate.done.state.') ? 'done' : t.eventType;
      const actions = (t.actions as unknown[]).map(nameOf);
      const failing = (t.actions as unknown[]).find(
        (a): a is { params: { code: string } } => !!a && typeof a === 'object' && 'params' in a && !!(a as { params?: { code?: string } }).params?.code,
      );
      transitions.push({
        source: pathOf(node),
        event,
        targets: (t.target ?? []).map(pathOf),
        ...(t.guard ? { guard: nameOf(t.guard) } : {}),
        actions,
        ...(failing ? { code: failing.params.code } : {}),
      });
    }
    for (const child of Object.values(node.states)) visit(child as AnyStateNode);
  };
  visit(machine.root);
  return { id: machine.id, states, transitions };
}
