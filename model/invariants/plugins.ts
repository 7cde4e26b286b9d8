/**
 * Plug-in invariants: properties a user adds without editing this folder. A plug-in is a
 * predicate over the recorded History, exactly like INV-1…INV-6: it reads the same History and the
 * same HistoryIndex, and returns its violations with witnesses (indexes into history.events and
 * history.audit) and how much it examined. The harness judges plug-ins after the six, on every run
 * (judge.ts), and `failclosed verify` re-judges them from a kit.
 *
 * A predicate that throws, or names a witness outside the history, is a bug in the plug-in, not a
 * finding about the gate: it is raised as an error naming the plug-in, never reported as broken.
 */
import type { History } from '../history.ts';
import type { InvariantId } from '../profile/denial-codes.ts';
import { INVARIANT_IDS } from '../profile/denial-codes.ts';
import type { HistoryIndex } from './history-index.ts';
import { buildHistoryIndex } from './history-index.ts';

/** An invariant's name in reports: INV-1…INV-6, or a plug-in's id. */
export type InvariantName = string;

/** INV-1…INV-6 (the profile's), as opposed to a plug-in's id. */
export function isProfileInvariant(name: InvariantName): name is InvariantId {
  return (INVARIANT_IDS as readonly string[]).includes(name);
}

/** One way a history breaks a plug-in invariant, with the events (and audit records) that witness it. */
export interface PluginViolation {
  message: string;
  /** indexes into history.events */
  eventIndexes: number[];
  /** indexes into history.audit */
  auditIndexes?: number[];
}

export interface PluginCheckResult {
  violations: PluginViolation[];
  /** how many items the predicate examined: 0 over every history means it was vacuous */
  examined: number;
}

export interface PluginInvariant {
  /** how reports name it: a letter, then letters, digits, '.', '_' or '-' (at most 64); never INV-n */
  id: string;
  /** one line, for reports */
  statement: string;
  /** judge it only on histories with an audit export (like INV-5); without one it is 'not tested' */
  needsAuditExport?: boolean;
  check(history: History, index: HistoryIndex): PluginCheckResult;
}

/** A plug-in's verdict on one history, shaped like InvariantVerdict. */
export interface PluginVerdict {
  invariant: InvariantName;
  holds: boolean;
  violations: (PluginViolation & { invariant: InvariantName })[];
  examined: number;
}

export const PLUGIN_ID_PATTERN = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

/** Raised for a plug-in that is malformed or misbehaves: the plug-in's fault, not the gate's. */
export class PluginError extends Error {
  override name = 'PluginError';
}

/** Why `value` is not a PluginInvariant, or undefined when it is one. */
function pluginProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'is not an object';
  const v = value as Partial<Record<keyof PluginInvariant, unknown>>;
  if (typeof v.id !== 'string' || !PLUGIN_ID_PATTERN.test(v.id)) return `has no valid id (${JSON.stringify(v.id)}; want ${PLUGIN_ID_PATTERN})`;
  if (/^INV-\d+$/i.test(v.id) || (INVARIANT_IDS as readonly string[]).includes(v.id)) return `takes the id ${v.id}, which the profile's invariants own`;
  if (typeof v.statement !== 'string' || v.statement.trim() === '') return `${v.id} has no statement`;
  if (typeof v.check !== 'function') return `${v.id} has no check function`;
  if (v.needsAuditExport !== undefined && typeof v.needsAuditExport !== 'boolean') return `${v.id}: needsAuditExport must be a boolean`;
  return undefined;
}

/** Checks a list of plug-ins (from a module or a caller): well formed, ids unique. */
export function validatePluginInvariants(values: readonly unknown[], source = 'plug-in invariants'): PluginInvariant[] {
  const seen = new Set<string>();
  return values.map((value, i) => {
    const problem = pluginProblem(value);
    if (problem) throw new PluginError(`${source}: invariant #${i + 1} ${problem}`);
    const plugin = value as PluginInvariant;
    if (seen.has(plugin.id)) throw new PluginError(`${source}: the id ${plugin.id} is used twice`);
    seen.add(plugin.id);
    return plugin;
  });
}

function checkWitnesses(plugin: PluginInvariant, history: History, v: PluginViolation): void {
  const inRange = (xs: unknown, length: number) => Array.isArray(xs) && xs.every((i) => Number.isInteger(i) && i >= 0 && i < length);
  if (typeof v?.message !== 'string') throw new PluginError(`plug-in ${plugin.id} returned a violation without a message`);
  if (!inRange(v.eventIndexes, history.events.length)) {
    throw new PluginError(`plug-in ${plugin.id} returned witnesses ${JSON.stringify(v.eventIndexes)} that are not indexes of the history's ${history.events.length} events`);
  }
  if (v.auditIndexes !== undefined && !inRange(v.auditIndexes, history.audit.length)) {
    throw new PluginError(`plug-in ${plugin.id} returned audit witnesses ${JSON.stringify(v.auditIndexes)} outside the ${history.audit.length} audit records`);
  }
}

/** One plug-in over one history; a plug-in that needs the audit export is skipped (undefined) without one. */
export function checkPluginInvariant(plugin: PluginInvariant, history: History, index: HistoryIndex = buildHistoryIndex(history)): PluginVerdict | undefined {
  if (plugin.needsAuditExport && !history.auditExported) return undefined;
  let result: PluginCheckResult;
  try {
    result = plugin.check(history, index);
  } catch (error) {
    throw new PluginError(`plug-in ${plugin.id} threw: ${(error as Error)?.message ?? String(error)}`);
  }
  if (!result || !Array.isArray(result.violations) || !Number.isInteger(result.examined) || result.examined < 0) {
    throw new PluginError(`plug-in ${plugin.id} must return { violations: [...], examined: <integer ≥ 0> }`);
  }
  for (const v of result.violations) checkWitnesses(plugin, history, v);
  return {
    invariant: plugin.id,
    holds: result.violations.length === 0,
    violations: result.violations.map((v) => ({
      invariant: plugin.id,
      message: v.message,
      eventIndexes: [...v.eventIndexes],
      ...(v.auditIndexes ? { auditIndexes: [...v.auditIndexes] } : {}),
    })),
    examined: result.examined,
  };
}

/** Every plug-in over one history, in order (skipped ones left out). */
export function checkPluginInvariants(plugins: readonly PluginInvariant[], history: History, index: HistoryIndex = buildHistoryIndex(history)): PluginVerdict[] {
  return plugins.flatMap((p) => checkPluginInvariant(p, history, index) ?? []);
}
