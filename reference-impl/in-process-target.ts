/**
 * The reference as an in-process target (conformance/in-process-target.ts): built on the
 * environment the driver hands it, keeping nothing durable of its own. Planted-bug variants pass
 * their own Gate or Execution Layer subclasses, or replace a store.
 */
import type { Clock } from './clock.ts';
import type { ClaimStore } from './stores/claim-store.ts';
import type { PostgresDatabase } from './stores/postgres/postgres-stores.ts';
import type { JsonValue } from '../model/profile/canonical-json.ts';
import type { InProcessEnvironment, InProcessSystem, InProcessTarget } from '../conformance/in-process-target.ts';
import type { InProcessOptions } from './in-process.ts';
import { createInProcessReference } from './in-process.ts';
import { TEST_KEYS } from '../model/history-builder.ts';
import { MemoryAuditSpool } from './audit/audit-spool.ts';
import { sha256Digest } from '../model/profile/digest.ts';

export type ReferenceVariation = Pick<InProcessOptions, 'makeGate' | 'makeExecutionLayer'> & {
  /** replaces a store the environment provides (e.g. one that forgets on restart) */
  nonces?: (env: InProcessEnvironment) => InProcessOptions['nonces'];
  approvals?: (env: InProcessEnvironment) => InProcessOptions['approvals'];
  audit?: (env: InProcessEnvironment) => InProcessOptions['audit'];
  /**
   * replaces the reference's nonce store on PostgreSQL (`failclosed serve --store postgres://…`):
   * a bug of how replicas share claims, absent in-process (which has no database)
   */
  postgresNonces?: (db: PostgresDatabase, clock: Clock) => ClaimStore;
  /** why the variation exists only in-process, when it changes what `failclosed serve` does around the Gate anyway */
  onlyInProcess?: string;
};

/** An in-process target that also says how it varies from the reference (for other wirings). */
export interface ReferenceTarget extends InProcessTarget {
  readonly variation: ReferenceVariation;
}

/** Whether a variation can be applied where the environment's stores do not exist (over HTTP). */
export function appliesOverHttp(variation: ReferenceVariation): boolean {
  return whyOnlyInProcess(variation) === undefined;
}

/** Why a variation exists only in-process (undefined: it applies over HTTP too). */
export function whyOnlyInProcess(variation: ReferenceVariation): string | undefined {
  if (variation.nonces || variation.approvals || variation.audit) return 'replaces a store';
  return variation.onlyInProcess;
}

export function referenceTarget(name = 'reference', variation: ReferenceVariation = {}): ReferenceTarget {
  return {
    name,
    variation,
    start(env: InProcessEnvironment): InProcessSystem {
      // The spool of refused audit records lives on the target's disk: it must outlive a crash.
      const spool = (env.disk.get('audit-spool') as MemoryAuditSpool | undefined) ?? new MemoryAuditSpool();
      env.disk.set('audit-spool', spool);
      const reference = createInProcessReference({
        spool,
        identityKeys: env.identityKeys,
        // The embedded Control Plane is not used: the harness plays it through env.controlPlane.
        controlPlaneKeys: [TEST_KEYS.controlPlane],
        policy: { rules: [] },
        trustedKeys: [...env.trustedKeys],
        clock: env.clock,
        settings: env.settings,
        nonces: variation.nonces?.(env) ?? env.nonces,
        approvals: variation.approvals?.(env) ?? env.approvals,
        audit: variation.audit?.(env) ?? env.audit,
        sink: env.sink,
        controlPlaneLink: env.controlPlane,
        wrapExecutionLink: (link) => env.interceptExecution(link),
        ...(variation.makeGate ? { makeGate: variation.makeGate } : {}),
        ...(variation.makeExecutionLayer ? { makeExecutionLayer: variation.makeExecutionLayer } : {}),
      });
      return {
        submit: async (body, headers) => reference.gate.handle(body, headers ? { headers } : {}),
        executeDirect: async (call: JsonValue, headers) => reference.executionLayer.execute(structuredClone(call), headers ? { headers } : {}),
        // What the HTTP server does with a body whose client hung up mid-upload: refused, audited by what arrived.
        abortUpload: async (received) => {
          await reference.gate.refuseUnread(sha256Digest(received));
        },
        settle: async () => {
          await reference.gate.settle();
        },
        auditExport: async () => (await reference.audit.records()) as unknown as JsonValue[],
        halt: () => reference.gate.halt(),
        gatewayEvents: () => structuredClone(reference.events) as unknown as JsonValue[],
      };
    },
  };
}
