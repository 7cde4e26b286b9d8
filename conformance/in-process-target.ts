/**
 * The protocol of an in-process target: a system under test that runs inside the harness's
 * process. The driver builds the environment — the harness's Control Plane link, the effect sink,
 * durable stores that it can fault, an interceptor on the Gate→Execution Layer link, a clock — and
 * the target builds its system on it. A crash is "drop the system, start again on the same
 * environment": whatever the target kept outside the environment is lost, as in a real crash.
 */
import type { JsonValue } from '../model/profile/canonical-json.ts';
import type { IdentityKey, TrustedKey } from '../model/profile/messages.ts';
import type { AuditLog } from '../reference-impl/audit/audit-log.ts';
import type { Clock } from '../reference-impl/clock.ts';
import type { EffectSink } from '../reference-impl/execution-layer/effect-sink.ts';
import type { ControlPlaneLink, ExecutionLink } from '../reference-impl/gate/links.ts';
import type { ClaimStore } from '../reference-impl/stores/claim-store.ts';
import type { Answer } from './driver.ts';

export interface TargetSettings {
  acceptanceWindowSec: number;
  replayWindowSec: number;
  controlPlaneDeadlineMs: number;
  executionDeadlineMs: number;
}

export interface InProcessEnvironment {
  clock: Clock;
  settings: TargetSettings;
  identityKeys: () => readonly IdentityKey[];
  /** the harness Control Plane's keys: the only ones to trust */
  trustedKeys: readonly TrustedKey[];
  controlPlane: ControlPlaneLink;
  /** where executed actions must be reported: ground truth */
  sink: EffectSink;
  /** durable across crash-restart; the driver injects store faults here */
  nonces: ClaimStore;
  approvals: ClaimStore;
  audit: AuditLog;
  /**
   * The target's "disk": whatever it keeps here survives a crash-restart, nothing else does. The
   * stores above are already durable; this is for anything else a target must not lose.
   */
  disk: Map<string, unknown>;
  /** the driver's hand on the Gate→Execution Layer link (partition, tamper, lose answers) */
  interceptExecution(link: ExecutionLink): ExecutionLink;
}

export interface InProcessSystem {
  /** `headers`: what an HTTP client would have sent with the bytes (names in lower case) */
  submit(body: Uint8Array, headers?: Readonly<Record<string, string>>): Promise<Answer>;
  executeDirect(call: JsonValue, headers?: Readonly<Record<string, string>>): Promise<Answer>;
  /** a client sent these bytes of a longer body, then hung up: no one is left to answer */
  abortUpload?(received: Uint8Array): Promise<void>;
  /** finishes what the system started (e.g. audit records waiting for the log) */
  settle?(): Promise<void>;
  /** the system's audit export; without it the driver exports the environment's audit log */
  auditExport?(): Promise<JsonValue[]>;
  /** stops whatever the system still does in the background (timers, retries), as a crash does */
  halt?(): void;
  /** the gateway events it would serve at GET /v1/events (CONTRACT.md section 7), if it keeps any */
  gatewayEvents?(): JsonValue[];
}

export interface InProcessTarget {
  readonly name: string;
  start(env: InProcessEnvironment): InProcessSystem;
}
