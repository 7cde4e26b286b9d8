/**
 * The whole reference system wired with function calls, for the fast tier of the suite. Every
 * dependency can be replaced — a test harness plays the Control Plane, owns the effect sink, or
 * wraps a store to inject faults — through the same options any in-process gate would take.
 */
import type { GatewayEvent, IdentityKey, TrustedKey } from '../model/profile/messages.ts';
import type { KeyPair } from '../model/profile/signing.ts';
import type { AuditLog } from './audit/audit-log.ts';
import type { AuditSpool } from './audit/audit-spool.ts';
import { MemoryAuditLog } from './audit/memory-audit-log.ts';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import { ControlPlane } from './control-plane/control-plane.ts';
import type { Policy } from './control-plane/policy.ts';
import type { EffectSink } from './execution-layer/effect-sink.ts';
import { MemoryEffectSink } from './execution-layer/effect-sink.ts';
import type { ActionHandler, ExecutionLayerOptions } from './execution-layer/execution-layer.ts';
import { ExecutionLayer } from './execution-layer/execution-layer.ts';
import type { GateDependencies, GateSettings } from './gate/gate.ts';
import { Gate } from './gate/gate.ts';
import type { ControlPlaneLink, ExecutionLink } from './gate/links.ts';
import type { ClaimStore } from './stores/claim-store.ts';
import { MemoryClaimStore } from './stores/memory-claim-store.ts';

export interface InProcessOptions {
  identityKeys: IdentityKey[] | (() => readonly IdentityKey[]);
  /** the embedded Control Plane's signing keys (first signs) */
  controlPlaneKeys: KeyPair[];
  policy: Policy;
  clock?: Clock;
  settings?: Partial<GateSettings>;
  envelopeTtlSec?: number;
  /** Control Plane keys the Gate and Execution Layer trust; defaults to the embedded Control Plane's */
  trustedKeys?: TrustedKey[];
  nonces?: ClaimStore;
  approvals?: ClaimStore;
  audit?: AuditLog;
  /** where refused final audit records wait (default: memory) */
  spool?: AuditSpool;
  sink?: EffectSink;
  handlers?: Record<string, ActionHandler>;
  /** replaces the link to the embedded Control Plane (a harness playing the Control Plane) */
  controlPlaneLink?: ControlPlaneLink;
  /** replaces the link to the embedded Execution Layer (a harness cutting or delaying it) */
  executionLink?: ExecutionLink;
  /** decorates the Gate's link to the embedded Execution Layer (a driver partitioning or tampering with it) */
  wrapExecutionLink?: (link: ExecutionLink) => ExecutionLink;
  /** builds the Gate (a planted-bug variant subclasses it) */
  makeGate?: (deps: GateDependencies) => Gate;
  /** builds the Execution Layer (a planted-bug variant subclasses it) */
  makeExecutionLayer?: (options: ExecutionLayerOptions) => ExecutionLayer;
}

export interface InProcessReference {
  gate: Gate;
  controlPlane: ControlPlane;
  executionLayer: ExecutionLayer;
  audit: AuditLog;
  nonces: ClaimStore;
  approvals: ClaimStore;
  sink: EffectSink;
  events: GatewayEvent[];
  /** the links the Gate uses by default, for wrappers that decorate them */
  links: { controlPlane: ControlPlaneLink; executionLayer: ExecutionLink };
  close(): Promise<void>;
}

export function createInProcessReference(options: InProcessOptions): InProcessReference {
  const clock = options.clock ?? systemClock;
  const controlPlane = new ControlPlane({
    policy: options.policy,
    signingKeys: options.controlPlaneKeys,
    clock,
    ...(options.envelopeTtlSec === undefined ? {} : { envelopeTtlSec: options.envelopeTtlSec }),
  });
  const trustedKeys = options.trustedKeys ?? controlPlane.publicKeys();
  const nonces = options.nonces ?? new MemoryClaimStore(clock);
  const approvals = options.approvals ?? new MemoryClaimStore(clock);
  const audit = options.audit ?? new MemoryAuditLog(clock);
  const sink = options.sink ?? new MemoryEffectSink();
  const elOptions: ExecutionLayerOptions = { trustedKeys, approvals, sink, clock, ...(options.handlers ? { handlers: options.handlers } : {}) };
  const executionLayer = options.makeExecutionLayer ? options.makeExecutionLayer(elOptions) : new ExecutionLayer(elOptions);
  // Copies cross every link, as bytes would: no side may mutate what the other holds.
  const links = {
    controlPlane: { ask: async (question) => controlPlane.decide(structuredClone(question)) } as ControlPlaneLink,
    executionLayer: { execute: async (call, _signal, headers) => (await executionLayer.execute(structuredClone(call), headers ? { headers } : {})) as never } as ExecutionLink,
  };
  const events: GatewayEvent[] = [];
  const identityKeys = options.identityKeys;
  const gateDeps: GateDependencies = {
    clock,
    ...(options.settings ? { settings: options.settings } : {}),
    identityKeys: typeof identityKeys === 'function' ? identityKeys : () => identityKeys,
    trustedKeys: () => trustedKeys,
    nonces,
    audit,
    ...(options.spool ? { spool: options.spool } : {}),
    controlPlane: options.controlPlaneLink ?? links.controlPlane,
    executionLayer: options.executionLink ?? options.wrapExecutionLink?.(links.executionLayer) ?? links.executionLayer,
    onEvent: (event) => events.push(event),
  };
  const gate = options.makeGate ? options.makeGate(gateDeps) : new Gate(gateDeps);
  return {
    gate,
    controlPlane,
    executionLayer,
    audit,
    nonces,
    approvals,
    sink,
    events,
    links,
    async close() {
      await Promise.allSettled([nonces.close(), approvals.close(), audit.close(), sink.close()]);
    },
  };
}
