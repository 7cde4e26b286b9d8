/**
 * A plug-in driver: a gate that is a library, not a server. Here the library is the reference's own
 * (`createInProcessReference`); for yours, build your gate the same way — on what the harness
 * hands `start` — and map its answers to { status, code, trace_id, request_id }.
 *
 * What the environment gives (conformance/in-process-target.ts) and why the gate must use it:
 *   env.controlPlane     the Control Plane the harness plays: the gate asks it for approvals
 *   env.sink             where executed actions go: the harness's ground truth
 *   env.nonces, env.approvals, env.audit   stores the harness can fault (claimed as capabilities)
 *   env.interceptExecution(link)           the Gate→Execution Layer link, for partitions/tampering
 *   env.clock            the clock the harness can skew
 * A gate that keeps its own stores cannot be faulted there: drop those capabilities, and those
 * scenarios are reported not tested rather than wrongly failed.
 *
 *   npx failclosed run --driver ./examples/drivers/library-gate.ts
 */
import { defineDriver } from 'failclosed/api';
import { createInProcessReference } from 'failclosed/reference-impl/in-process.ts';
import { MemoryAuditSpool } from 'failclosed/reference-impl/audit/audit-spool.ts';
import { TEST_KEYS } from 'failclosed/model/history-builder.ts';
import { sha256Digest } from 'failclosed/model/profile/digest.ts';

export default defineDriver({
  name: 'library gate',
  // Everything the environment offers: this gate is built on all of it. A gate with its own stores
  // would list fewer, e.g. ['execution-partition', 'clock-offset', 'direct-execution', 'audit-export', 'reset'].
  start(env) {
    // The spool of refused audit records must outlive a crash: keep it on the environment's "disk".
    const spool = (env.disk.get('audit-spool') as MemoryAuditSpool | undefined) ?? new MemoryAuditSpool();
    env.disk.set('audit-spool', spool);
    const gate = createInProcessReference({
      spool,
      identityKeys: env.identityKeys,
      controlPlaneKeys: [TEST_KEYS.controlPlane],
      policy: { rules: [] },
      trustedKeys: [...env.trustedKeys],
      clock: env.clock,
      settings: env.settings,
      nonces: env.nonces,
      approvals: env.approvals,
      audit: env.audit,
      sink: env.sink,
      controlPlaneLink: env.controlPlane,
      wrapExecutionLink: (link) => env.interceptExecution(link),
    });
    return {
      submit: (body, headers) => gate.gate.handle(body, headers ? { headers } : {}),
      executeDirect: (call, headers) => gate.executionLayer.execute(structuredClone(call), headers ? { headers } : {}),
      // A client hung up mid-upload: refused and audited by what arrived, no one to answer.
      abortUpload: async (received) => {
        await gate.gate.refuseUnread(sha256Digest(received));
      },
      settle: async () => {
        await gate.gate.settle();
      },
      auditExport: async () => structuredClone(await gate.audit.records()) as never,
      halt: () => gate.gate.halt(),
    };
  },
});
