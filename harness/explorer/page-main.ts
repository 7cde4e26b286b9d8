/**
 * The model explorer's script, bundled for the browser (explorer-page.ts). Every prediction it
 * shows comes from the suite's own code — predictRequest / predictDirectCall over the XState
 * charts, enumerate…Scenarios, shortestTerminalPaths — so the page cannot disagree with the
 * oracle. It only keeps the user's answers and the memory carried from one request to the next,
 * and draws them on the charts the server rendered (data-state / data-event attributes).
 */
import type { AnyMachineSnapshot } from 'xstate';
import { initialTransition, transition } from 'xstate';
import { MODEL_REQUEST, enumerateDirectCallScenarios, enumerateGateScenarios, memoryFor, predictDirectCall, predictRequest } from '../../model/predict.ts';
import type { PriorHistory } from '../../model/predict.ts';
import { shortestDirectCallPaths, shortestTerminalPaths } from '../../model/paths.ts';
import type { Question, Scenario } from '../../model/questions.ts';
import { QUESTIONS, answerEvent, healthyAnswer, isHealthy } from '../../model/questions.ts';
import { askedQuestions } from '../../model/simulate.ts';
import type { ModelStep } from '../../model/simulate.ts';
import type { ModelRequest, SystemMemory } from '../../model/system-memory.ts';
import { DENIAL_CODES } from '../../model/profile/denial-codes.ts';
import type { DenialCode } from '../../model/profile/denial-codes.ts';
import type { ChartId } from '../reports/chart-transitions.ts';
import { CHARTS, MACHINES, transitionsOfRun } from '../reports/chart-transitions.ts';

interface PageState {
  chart: ChartId;
  /** what the system remembers when this request arrives */
  memory: SystemMemory;
  /** the prior history the memory came from, when it is one of the model's (for permalinks) */
  prior: PriorHistory | 'carried';
  request: ModelRequest;
  /** requests sent so far in this session, this one included */
  requestNumber: number;
  answers: ModelStep[];
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const MAX_REQUESTS = 1000; // a session is a person clicking: bounded all the same

let state: PageState = fresh('gate', 'none');

function fresh(chart: ChartId, prior: PriorHistory): PageState {
  return { chart, memory: memoryFor(prior), prior, request: MODEL_REQUEST, requestNumber: 1, answers: [] };
}

function input(s: PageState): unknown {
  return s.chart === 'gate' ? { request: s.request, memory: s.memory } : { approvalId: s.request.approvalId, requestId: s.request.requestId, memory: s.memory };
}

/** The chart's snapshot after the answers so far (the same pure transitions simulate.ts uses). */
function snapshotOf(s: PageState): AnyMachineSnapshot {
  const machine = MACHINES[s.chart];
  let [snapshot] = initialTransition(machine, input(s)) as [AnyMachineSnapshot, unknown];
  for (const step of s.answers) [snapshot] = transition(machine, snapshot, answerEvent(step.question, step.answer as never)) as [AnyMachineSnapshot, unknown];
  return snapshot;
}

function activePaths(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [`${prefix}${value}`];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [`${prefix}${k}`, ...activePaths(v, `${prefix}${k}.`)]);
}

const scenarioOf = (steps: readonly ModelStep[]): Scenario => Object.fromEntries(steps.map((s) => [s.question, s.answer])) as Scenario;

/** The oracle's prediction for the answers given: exactly what the suite compares a system with. */
function prediction(s: PageState) {
  const scenario = scenarioOf(s.answers);
  return s.chart === 'gate' ? predictRequest(scenario, s.memory, s.request) : predictDirectCall(scenario, s.memory, { approvalId: s.request.approvalId, requestId: s.request.requestId });
}

function fragmentOf(chart: ChartId, prior: PriorHistory, steps: readonly string[]): string {
  return `#chart=${chart}&prior=${prior}&answers=${steps.join(',')}`;
}

function render(): void {
  const snapshot = snapshotOf(state);
  const chart = CHARTS[state.chart];
  for (const id of ['gate', 'executionLayer'] as const) $(`chart-${id}`).hidden = id !== state.chart;
  for (const tab of document.querySelectorAll<HTMLButtonElement>('[data-chart-tab]')) tab.setAttribute('aria-selected', String(tab.dataset.chartTab === state.chart));

  // The chart: active states, transitions taken so far.
  const svg = $(`chart-${state.chart}`);
  const active = new Set(snapshot.status === 'done' ? [String(snapshot.value)] : activePaths(snapshot.value));
  for (const g of svg.querySelectorAll<SVGGElement>('[data-state]')) g.classList.toggle('on-path', active.has(g.dataset.state!));
  const taken = transitionsOfRun(MACHINES[state.chart], chart, input(state), state.answers);
  const onPath = new Set(typeof taken === 'string' ? [] : taken);
  // Rows and wires carry their transition's index (chart-svg.ts): the same indexes the reports use.
  for (const el of svg.querySelectorAll<SVGElement>('[data-index]')) el.classList.toggle('on-path', onPath.has(Number(el.dataset.index)));

  // Memory and request.
  $('memory').innerHTML =
    `<div>claimed nonces: ${state.memory.claimedNonces.length === 0 ? '<i>none</i>' : state.memory.claimedNonces.map((n) => `<code>${esc(n)}</code>`).join(' ')}</div>` +
    `<div>consumed approvals: ${state.memory.consumedApprovals.length === 0 ? '<i>none</i>' : state.memory.consumedApprovals.map((a) => `<code>${esc(a)}</code>`).join(' ')}</div>`;
  $('request').textContent = `request #${state.requestNumber}: ${state.request.requestId}, nonce ${state.request.nonce}, approval ${state.request.approvalId}${state.prior !== 'carried' && state.prior !== 'none' ? ` (prior history: ${state.prior})` : ''}`;
  $('answers').innerHTML = state.answers.length === 0 ? '<li><i>none yet</i></li>' : state.answers.map((s) => `<li><code>${esc(s.question)}.${esc(s.answer)}</code> <span class="muted">at ${esc(s.state)}</span></li>`).join('');
  $('active').textContent = [...active].join(', ');

  // The question the chart asks now, or the outcome.
  const [asked] = snapshot.status === 'active' ? askedQuestions(snapshot) : [];
  if (asked) {
    $('question').innerHTML =
      `<div><b>${esc(asked.question)}</b> <span class="muted">asked by ${esc(asked.state)}</span></div>` +
      (QUESTIONS[asked.question] as readonly string[])
        .map((a) => `<button type="button" class="answer${isHealthy(asked.question, a) ? ' healthy' : ''}" data-question="${esc(asked.question)}" data-answer="${esc(a)}">${esc(a)}</button>`)
        .join(' ');
    $('outcome').hidden = true;
  } else {
    $('question').innerHTML = '<i>the chart reached a final state</i>';
    showOutcome();
  }
  $('permalink').setAttribute('href', state.prior === 'carried' ? '#' : fragmentOf(state.chart, state.prior, state.answers.map((s) => `${s.question}.${s.answer}`)));
}

function showOutcome(): void {
  const run = prediction(state);
  const outcome = run.outcome as { decision: string; acceptableCodes: DenialCode[]; passed?: string[]; audit?: unknown[]; effects: unknown[]; memory: SystemMemory };
  $('outcome').hidden = false;
  $('outcome-decision').textContent = outcome.decision;
  $('outcome-decision').className = `decision ${outcome.decision}`;
  $('outcome-codes').innerHTML =
    outcome.acceptableCodes.length === 0 ? '<li><i>none: executed</i></li>' : outcome.acceptableCodes.map((c) => `<li><code>${esc(c)}</code> <span class="muted">${esc(DENIAL_CODES[c].stage)}</span></li>`).join('');
  $('outcome-passed').textContent = outcome.passed ? outcome.passed.join(', ') || '(none)' : '(the Execution Layer chart keeps no list of checks)';
  $('outcome-audit').textContent = outcome.audit ? JSON.stringify(outcome.audit, null, 1) : '(a direct call writes no Gate audit record)';
  $('outcome-effects').textContent = JSON.stringify(outcome.effects, null, 1);
  $('outcome-memory').textContent = JSON.stringify(outcome.memory, null, 1);
  // The whole prediction, for anyone (and the browser test) to compare with predictRequest.
  $('outcome-json').textContent = JSON.stringify({ terminal: run.terminal, steps: run.steps, outcome: run.outcome });
}

/** The next request: the same bytes again (a replay) or a fresh one, with the memory the model says is left. */
function nextRequest(kind: 'same' | 'fresh'): void {
  if (state.requestNumber >= MAX_REQUESTS) return;
  const outcome = prediction(state).outcome as { memory: SystemMemory };
  const n = state.requestNumber + 1;
  const request =
    kind === 'same'
      ? state.request
      : { ...MODEL_REQUEST, requestId: `req-${n}`, nonce: `nonce-${String(n).padStart(16, '0')}`, approvalId: `approval-${n}` };
  state = { ...state, memory: outcome.memory, prior: 'carried', request, requestNumber: n, answers: [] };
  render();
}

function answer(question: Question, value: string): void {
  const [asked] = askedQuestions(snapshotOf(state));
  if (!asked || asked.question !== question) return;
  state = { ...state, answers: [...state.answers, { state: asked.state, question, answer: value }] };
  render();
}

/** Loads a permalink: chart, prior history, then the answers in the order the chart asks them. */
function load(hash: string): void {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const chart = params.get('chart') === 'executionLayer' ? 'executionLayer' : 'gate';
  const prior = (['none', 'nonceClaimed', 'approvalConsumed'] as const).find((p) => p === params.get('prior')) ?? 'none';
  state = fresh(chart, prior);
  const wanted = (params.get('answers') ?? '').split(',').filter(Boolean);
  for (const token of wanted.slice(0, 64)) {
    const [asked] = askedQuestions(snapshotOf(state));
    const [question, value] = token.split('.') as [Question, string];
    if (!asked || asked.question !== question || !(QUESTIONS[question] as readonly string[] | undefined)?.includes(value)) break;
    state = { ...state, answers: [...state.answers, { state: asked.state, question, answer: value }] };
  }
  // scenario=q.a,…: a report's counterexample step names only its unhealthy answers; every other
  // question is answered healthily, as the suite's runScenario does.
  const scenario = new Map((params.get('scenario') ?? '').split(',').filter(Boolean).map((t) => t.split('.') as [string, string]));
  if (params.has('scenario')) {
    for (let i = 0; i < 64; i++) {
      const snapshot = snapshotOf(state);
      const [asked] = snapshot.status === 'active' ? askedQuestions(snapshot) : [];
      if (!asked) break;
      const value = scenario.get(asked.question) ?? healthyAnswer(asked.question);
      state = { ...state, answers: [...state.answers, { state: asked.state, question: asked.question, answer: value }] };
    }
  }
  render();
  // Tests (and scripts) wait on this: a hash link renders on hashchange, after the click returns.
  document.body.dataset.loaded = hash;
}

function lists(): void {
  // The shortest path to every terminal outcome of the Gate (paths.ts, via @xstate/graph).
  $('paths').innerHTML = shortestTerminalPaths()
    .map((p) => {
      const stages = [...new Set((p.terminal.match(/[A-Z_]{4,}/g) ?? []).map((c) => DENIAL_CODES[c as DenialCode]?.stage))].join(' ');
      return `<li><a href="${fragmentOf('gate', p.prior, p.steps)}" data-terminal="${esc(p.terminal)}" data-prior="${p.prior}" data-stages="${esc(stages)}">${esc(p.terminal)}</a>${p.prior === 'none' ? '' : ` <span class="muted">after ${esc(p.prior)}</span>`} <span class="muted">${p.steps.length} answers</span></li>`;
    })
    .join('');
  $('direct-paths').innerHTML = shortestDirectCallPaths()
    .map((p) => `<li><a href="${fragmentOf('executionLayer', p.prior, p.steps)}" data-terminal="${esc(p.terminal)}" data-prior="${p.prior}">${esc(p.terminal)}</a>${p.prior === 'none' ? '' : ` <span class="muted">after ${esc(p.prior)}</span>`} <span class="muted">${p.steps.length} answers</span></li>`)
    .join('');
  // Every scenario of the model: each prior history × each answer path.
  const gate = enumerateGateScenarios().map((r) => ({ chart: 'gate' as const, prior: r.prior, steps: r.steps, terminal: r.terminal, codes: (r.outcome as { acceptableCodes: string[] }).acceptableCodes }));
  const direct = enumerateDirectCallScenarios().map((r) => ({ chart: 'executionLayer' as const, prior: r.prior, steps: r.steps, terminal: r.terminal, codes: (r.outcome as { acceptableCodes: string[] }).acceptableCodes }));
  const all = [...gate, ...direct];
  $('scenario-count').textContent = `${gate.length} through the Gate, ${direct.length} direct calls`;
  $('scenarios').innerHTML = all
    .map((r) => {
      const unhealthy = r.steps.filter((s) => !isHealthy(s.question, s.answer)).map((s) => `${s.question}.${s.answer}`);
      const label = `${r.chart === 'executionLayer' ? 'direct call ' : ''}${r.prior === 'none' ? '' : `[${r.prior}] `}${unhealthy.join(' ') || 'healthy'}`;
      return `<li><a href="${fragmentOf(r.chart, r.prior, r.steps.map((s) => `${s.question}.${s.answer}`))}">${esc(label)}</a> <span class="muted">⇒ ${esc(r.terminal)}${r.codes.length ? ` ${esc(r.codes.join('|'))}` : ''}</span></li>`;
    })
    .join('');
}

document.addEventListener('click', (event) => {
  const target = event.target as HTMLElement;
  const button = target.closest<HTMLButtonElement>('button[data-question]');
  if (button) return answer(button.dataset.question as Question, button.dataset.answer!);
  const tab = target.closest<HTMLButtonElement>('[data-chart-tab]');
  if (tab) {
    state = fresh(tab.dataset.chartTab as ChartId, 'none');
    return render();
  }
  const next = target.closest<HTMLButtonElement>('[data-next]');
  if (next) return nextRequest(next.dataset.next as 'same' | 'fresh');
  if (target.closest('#restart')) {
    state = fresh(state.chart, 'none');
    return render();
  }
});
window.addEventListener('hashchange', () => load(location.hash));
lists();
load(location.hash);
document.body.dataset.ready = 'true';
