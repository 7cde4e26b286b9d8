/**
 * Judging one run: the INV-1…INV-6 predicates, then the plug-in invariants (model/invariants/plugins.ts),
 * over the history of its window. The first violation
 * becomes the run's ConformanceFailure, its witnesses rendered for the counterexample.
 */
import type { History } from '../../model/history.ts';
import { INVARIANT_CHECKS, buildHistoryIndex } from '../../model/invariants/index.ts';
import { questionsPerTriple } from '../../model/invariants/dispatch-discipline.ts';
import { INVARIANT_IDS } from '../../model/profile/denial-codes.ts';
import type { PluginInvariant } from '../../model/invariants/plugins.ts';
import { checkPluginInvariants } from '../../model/invariants/plugins.ts';
import type { RunContext } from '../run-context.ts';
import { ConformanceFailure } from '../run-context.ts';
import type { RunWindows } from './windows.ts';
import { watchBeforeJudging } from '../scenarios/late-answers.ts';

export function renderWitnesses(history: History, indexes: readonly number[]): string {
  return indexes
    .slice(0, 6)
    .map((i) => {
      const e = history.events[i];
      if (!e) return `#${i}`;
      switch (e.kind) {
        case 'request':
          return `request op ${e.op}`;
        case 'response':
          return `answer to op ${e.op}: ${e.status}${e.code ? ` ${e.code}` : ''}`;
        case 'effect':
          return `effect ${e.effect_id} (approval ${e.approval_id ?? 'none'})`;
        case 'policy':
          return `Control Plane ${e.answer.kind}`;
        case 'direct-call':
          return `direct call op ${e.op}: ${e.status}`;
        case 'fault':
          return `fault ${e.fault}`;
        case 'execution-call':
          return `Execution Layer call (approval ${e.approval_id ?? 'none'}${e.delivery === 'now' ? '' : `, delivered ${e.delivery}`})`;
        default:
          return e.kind;
      }
    })
    .join('; ');
}

/** The run's history as it stands (for a run that failed before it was judged); undefined when unreadable. */
export async function snapshot(windows: RunWindows): Promise<History | undefined> {
  try {
    return await windows.history();
  } catch {
    return undefined; // the system may be in no state to export: the report says what it can
  }
}

/** What the plug-in invariants examined, summed over every judged history: 0 means vacuous. */
export type PluginExamined = Map<string, number>;

/** Judges the run's history; throws a ConformanceFailure on the first invariant that does not hold. */
export async function judgeHistory(
  ctx: RunContext,
  windows: RunWindows,
  keep?: (history: History, failed: boolean) => void,
  plugins: { invariants: readonly PluginInvariant[]; examined: PluginExamined } = { invariants: [], examined: new Map() },
): Promise<History> {
  // Late effects (a late allow acted on, a queue that drains) must be in the history judged.
  await watchBeforeJudging(ctx);
  const history = await windows.history();
  const index = buildHistoryIndex(history);
  const verdicts = INVARIANT_IDS.map((id) => INVARIANT_CHECKS[id].check(history, index));
  // A plug-in that needs the export is left out here when there is none (checkPluginInvariants).
  const pluginVerdicts = checkPluginInvariants(plugins.invariants, history, index);
  for (const v of pluginVerdicts) plugins.examined.set(v.invariant, (plugins.examined.get(v.invariant) ?? 0) + v.examined);
  // Asking the Control Plane again about one request breaks the contract (§4), not an invariant.
  for (const finding of questionsPerTriple(index).findings) {
    ctx.contractFindings.push({ threat: 'control-plane-failure', message: finding.message });
    ctx.trail.push(`contract finding: ${finding.message} [${renderWitnesses(history, finding.eventIndexes)}]`);
  }
  keep?.(history, verdicts.some((v) => !v.holds && (v.invariant !== 'INV-5' || history.auditExported)) || pluginVerdicts.some((v) => !v.holds));
  for (const verdict of [...verdicts, ...pluginVerdicts]) {
    if (verdict.invariant === 'INV-5' && !history.auditExported) continue;
    const v = verdict.violations[0];
    if (v) {
      const line = `${v.invariant} does not hold: ${v.message} [${renderWitnesses(history, v.eventIndexes)}]`;
      ctx.trail.push(line);
      throw new ConformanceFailure([v.invariant], 'history', line, v.eventIndexes);
    }
  }
  return history;
}
