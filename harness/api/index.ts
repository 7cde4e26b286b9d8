/**
 * failclosed/api: extend the suite from your own files, without editing the package.
 *
 * Invariants — a predicate over the recorded History, like INV-1…INV-6, returning its violations
 * with witnesses (indexes into history.events / history.audit) and how much it examined:
 *
 *   // my-props.ts
 *   import { defineInvariant } from 'failclosed/api';
 *   export default [
 *     defineInvariant({
 *       id: 'NO-NIGHT-WORK',
 *       statement: 'no effect carries the action "payroll.run"',
 *       check: (history) => {
 *         const effects = history.events.flatMap((e, i) => (e.kind === 'effect' ? [{ e, i }] : []));
 *         return {
 *           examined: effects.length,
 *           violations: effects.filter(({ e }) => e.action === 'payroll.run').map(({ e, i }) => ({ message: `effect ${e.effect_id} ran payroll`, eventIndexes: [i] })),
 *         };
 *       },
 *     }),
 *   ];
 *
 *   npx failclosed run --invariants ./my-props.ts        (and verify KIT --invariants ./my-props.ts)
 *   failclosedSuites({ invariants: [...] })              (failclosed/vitest)
 *
 * Commands — a fast-check command with its threat (and invariant) tags, whose steps the model
 * predicts and the harness checks: defineCommand, `run --commands FILE`, failclosedSuites({ commands }).
 *
 * Drivers — an adapter to a gate that does not speak the HTTP contract (a library, a CLI):
 * defineDriver, `run --driver FILE`, the TargetSpec { kind: 'driver', module }.
 *
 * docs/extending/ has a page for each, with a complete example.
 */
import type { PluginCheckResult, PluginInvariant, PluginViolation } from '../../model/invariants/plugins.ts';
import { PluginError, validatePluginInvariants } from '../../model/invariants/plugins.ts';
import type { PluginCommand } from '../../conformance/commands/plugin-commands.ts';
import { validatePluginCommands } from '../../conformance/commands/plugin-commands.ts';
import type { PluginDriver } from '../drivers/plugin-driver.ts';
import { validatePluginDriver } from '../drivers/plugin-driver.ts';

export type { PluginCheckResult, PluginInvariant, PluginViolation } from '../../model/invariants/plugins.ts';
export { PLUGIN_ID_PATTERN, PluginError, checkPluginInvariant, checkPluginInvariants } from '../../model/invariants/plugins.ts';
export type {
  DirectCall,
  Effect,
  ExecutionCallSeen,
  FaultKind,
  FaultSpan,
  GateResponse,
  History,
  HistoryEvent,
  Millis,
  PolicyAnswer,
  PolicyExchange,
  RequestSent,
} from '../../model/history.ts';
export type {
  DirectCallInfo,
  EffectInfo,
  ExchangeInfo,
  FaultInfo,
  HistoryIndex,
  ParsedRequest,
  RequestOp,
  ResponseInfo,
} from '../../model/invariants/history-index.ts';
export { buildHistoryIndex } from '../../model/invariants/history-index.ts';
export type { AuditRecord, ClientRequest } from '../../model/profile/messages.ts';
export { validateAuditRecord } from '../../model/profile/messages.ts';
export { HistoryBuilder, TEST_KEYS, addCompliantTraffic } from '../../model/history-builder.ts';

export type { CommandSteps, PluginCommand } from '../../conformance/commands/plugin-commands.ts';
export { PluginCommandError } from '../../conformance/commands/plugin-commands.ts';
export type { Answers } from '../../model/concrete-scenario.ts';
export type { Question } from '../../model/questions.ts';
export { QUESTIONS } from '../../model/questions.ts';
export type { Threat } from '../../conformance/threats.ts';
export { THREATS, THREAT_INVARIANTS } from '../../conformance/threats.ts';
export type { InvariantId } from '../../model/profile/denial-codes.ts';
export type { Answer, Capability } from '../../conformance/driver.ts';
export type { InProcessEnvironment, InProcessSystem, TargetSettings } from '../../conformance/in-process-target.ts';
export type { DriverOptions, PluginDriver } from '../drivers/plugin-driver.ts';
export { PluginDriverError } from '../drivers/plugin-driver.ts';
export { ALL_CAPABILITIES } from '../drivers/in-process.ts';
/** The harness's own fast-check: a command's parameters must be its Arbitraries. */
export { default as fc } from 'fast-check';

/** Declares a plug-in command: checked now (name, threat, invariants, parameters, run). */
export function defineCommand<P>(spec: PluginCommand<P>): PluginCommand<P> {
  validatePluginCommands([spec], 'defineCommand');
  return spec;
}

/** Declares a plug-in driver: checked now (name, capabilities, start). */
export function defineDriver(spec: PluginDriver): PluginDriver {
  return validatePluginDriver(spec, 'defineDriver');
}

/** Declares a plug-in invariant: checked now (id, statement, check), so a mistake fails where it is written. */
export function defineInvariant(spec: PluginInvariant): PluginInvariant {
  const [checked] = validatePluginInvariants([spec], 'defineInvariant');
  return checked!;
}

/** A violation, for predicates that build them in one line. */
export function violation(message: string, eventIndexes: number[], auditIndexes?: number[]): PluginViolation {
  return { message, eventIndexes, ...(auditIndexes ? { auditIndexes } : {}) };
}

/** A check's result from its violations and the number of items it examined. */
export function result(violations: PluginViolation[], examined: number): PluginCheckResult {
  return { violations, examined };
}

/**
 * The invariants a module exports, in order: its default export (one invariant or an array), then
 * a named `invariants` array; anything else it exports is ignored. For `--invariants FILE`.
 */
export function invariantsOfModule(module: Record<string, unknown>, source: string): PluginInvariant[] {
  const found: unknown[] = [];
  const take = (value: unknown) => (Array.isArray(value) ? found.push(...value) : value !== undefined && found.push(value));
  take(module.default);
  if (module.invariants !== module.default) take(module.invariants);
  if (found.length === 0) throw new PluginError(`${source} exports no invariants: export default [defineInvariant(…), …] (or export const invariants = […])`);
  return validatePluginInvariants(found, source);
}
