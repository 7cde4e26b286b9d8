/**
 * The Gate's dispatch discipline, read from what the harness saw on the Gate's two outbound links
 * (CONTRACT.md sections 3, 4 and 5):
 *
 * - one policy question per request, and nothing before the replay stage reaches the Control
 *   Plane: of all requests with one (identity, action, nonce), at most one may be asked about —
 *   a replay or a concurrent duplicate that reaches the Control Plane got past the replay stage
 *   (INV-3); one request asked about twice is a contract finding (section 4), no invariant;
 * - one Execution Layer call per approval and per request, no retry: a second call after the
 *   first one's outcome was lost is execution attempted again under ambiguity (INV-4), however
 *   single use of the approval happens to save it.
 *
 * Each function returns its violations and how many items it examined; the INV-3 and INV-4
 * predicates add them to their own, and the run's judge reports the contract findings.
 */
import type { ExecutionCallSeen, Violation } from '../history.ts';
import type { ExchangeInfo, HistoryIndex, RequestOp } from './history-index.ts';
import { witnesses } from './history-index.ts';

export interface RuleResult {
  violations: Violation[];
  examined: number;
}

function describeOps(ops: readonly RequestOp[]): string {
  const list = ops.map((op) => op.op);
  return list.length === 1 ? `op ${list[0]}` : `ops ${list.join(', ')}`;
}

/** A finding against the contract that puts no invariant at stake (CONTRACT.md section 10). */
export interface ContractFinding {
  message: string;
  eventIndexes: number[];
}

/**
 * Policy questions per (identity, action, nonce), inside the replay window. A triple is claimed
 * once, so it passes the replay stage once: a compliant Gate asks at most one question about it.
 *
 * Which request a question was for cannot always be told (copies in flight share a request_id),
 * so the rule looks at the requests that could have been asked about: the copies of the triple
 * sent before the question and not yet answered. When more than one could have been, a second
 * question means a copy of a claimed request reached the Control Plane — accepted twice, INV-3
 * (gate B's `claim-after-policy`: eight concurrent copies, eight questions). When only one could
 * have been, the Gate asked again about one request: a contract finding (section 4, one question
 * per request), no invariant — whatever it was told, only a trusted allow can let it execute.
 */
export function questionsPerTriple(index: HistoryIndex): { inv3: RuleResult; findings: ContractFinding[] } {
  const violations: Violation[] = [];
  const findings: ContractFinding[] = [];
  const replayWindowMs = index.history.config.replayWindowSec * 1000;
  const byTriple = new Map<string, ExchangeInfo[]>();
  for (const exchange of index.exchanges) {
    const key = exchange.op?.nonceKey;
    if (key === undefined) continue;
    byTriple.set(key, [...(byTriple.get(key) ?? []), exchange]);
  }
  for (const [key, all] of byTriple) {
    // Questions inside one replay window of the first: a triple asked about again long after is fresh.
    const exchanges = all.filter((e) => e.event.at - all[0]!.event.at < replayWindowMs);
    if (exchanges.length < 2) continue;
    const copies = index.opsByNonceKey.get(key) ?? [];
    const candidates = new Set<RequestOp>();
    for (const exchange of exchanges) {
      for (const op of copies) {
        const answeredBefore = op.response !== undefined && op.response.eventIndex < exchange.eventIndex;
        if (op.eventIndex < exchange.eventIndex && !answeredBefore) candidates.add(op);
      }
      if (exchange.op) candidates.add(exchange.op);
    }
    const ops = [...candidates].sort((a, b) => a.eventIndex - b.eventIndex);
    const first = ops[0]!;
    const request = first.parsed.ok ? first.parsed.request : undefined;
    const triple = request ? `(${request.identity}, ${request.action}, ${request.nonce})` : 'one (identity, action, nonce)';
    const related = witnesses(...ops.map((op) => op.eventIndex), ...exchanges.map((e) => e.eventIndex));
    if (ops.length > 1) {
      violations.push({
        invariant: 'INV-3',
        message:
          `The Control Plane was asked ${exchanges.length} times about ${triple}, which request ${describeOps(ops)} carried: only one of them can pass the replay stage, ` +
          `so a replay or concurrent duplicate of a claimed request reached the Control Plane — accepted again (CONTRACT §3: nothing before the replay stage may reach it).`,
        eventIndexes: related,
      });
    } else {
      findings.push({
        message: `the Gate asked the Control Plane ${exchanges.length} times about request ${describeOps(ops)} (CONTRACT §4: one question per request; the Gate MUST NOT ask again)`,
        eventIndexes: related,
      });
    }
  }
  return { inv3: { violations, examined: byTriple.size }, findings };
}

interface AttributedCall {
  eventIndex: number;
  event: ExecutionCallSeen;
  exchange: ExchangeInfo;
}

/**
 * Execution Layer calls per approval issued (a trusted allow) and per request: the Gate calls once,
 * no retry. A call belongs to the latest trusted allow before it that issued its approval_id, as an
 * effect does. A second call for one allow, or for one request, is a retry (INV-4): after a lost
 * answer it runs the work again if the first did not, and a denial never waits for a retry to win.
 */
export function executionCallsPerApproval(index: HistoryIndex): RuleResult {
  const violations: Violation[] = [];
  const calls: AttributedCall[] = [];
  index.history.events.forEach((event, eventIndex) => {
    if (event.kind !== 'execution-call' || event.approval_id === undefined) return;
    const exchange = (index.exchangesByApprovalId.get(event.approval_id) ?? []).findLast((e) => e.trustedAllow && e.eventIndex < eventIndex);
    if (exchange) calls.push({ eventIndex, event, exchange });
  });
  const byExchange = new Map<ExchangeInfo, AttributedCall[]>();
  const byOp = new Map<RequestOp, AttributedCall[]>();
  for (const call of calls) {
    byExchange.set(call.exchange, [...(byExchange.get(call.exchange) ?? []), call]);
    if (call.exchange.op) byOp.set(call.exchange.op, [...(byOp.get(call.exchange.op) ?? []), call]);
  }
  const reported = new Set<RequestOp | ExchangeInfo>();
  const report = (key: RequestOp | ExchangeInfo, op: RequestOp | undefined, list: AttributedCall[], what: string): void => {
    if (reported.has(op ?? key)) return;
    reported.add(op ?? key);
    const response = op?.response?.event;
    const answered = response ? `; it answered ${response.status}${response.code ? ` ${response.code}` : ''}` : '';
    violations.push({
      invariant: 'INV-4',
      message:
        `The Gate called the Execution Layer ${list.length} times for ${what}${op ? ` (request op ${op.op})` : ''}, the second ${list[1]!.event.at - list[0]!.event.at} ms after the first${answered}: ` +
        `once, no retry (CONTRACT §3 stage 7, §5) — a retry after a lost answer is execution attempted again under ambiguity.`,
      eventIndexes: witnesses(...list.map((c) => c.eventIndex), op?.eventIndex, op?.response?.eventIndex),
    });
  };
  for (const [exchange, list] of byExchange) if (list.length > 1) report(exchange, exchange.op, list, `approval ${list[0]!.event.approval_id}`);
  for (const [op, list] of byOp) if (list.length > 1) report(op, op, list, `one request under approvals ${[...new Set(list.map((c) => c.event.approval_id))].join(', ')}`);
  return { violations, examined: calls.length };
}
