/**
 * The in-process driver: runs an in-process target (conformance/in-process-target.ts) inside the
 * harness, on stores it owns — so it can fault them, keep them across a crash, and read them —
 * with the harness's Control Plane and effect sink. The fast tier of the suite.
 */
import { changeDeepLeaf } from '../../model/deep-leaf.ts';
import type { FaultKind, FaultSpan } from '../../model/history.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import type { IdentityKey, TrustedKey } from '../../model/profile/messages.ts';
import { FaultyAuditLog } from '../../reference-impl/audit/faulty-audit-log.ts';
import { MemoryAuditLog } from '../../reference-impl/audit/memory-audit-log.ts';
import { OffsetClock } from '../../reference-impl/clock.ts';
import type { ExecutionLink } from '../../reference-impl/gate/links.ts';
import { LinkError } from '../../reference-impl/gate/links.ts';
import { FaultyClaimStore } from '../../reference-impl/stores/faulty-claim-store.ts';
import { MemoryClaimStore } from '../../reference-impl/stores/memory-claim-store.ts';
import type { Answer, Capability, CapturedExecutionCall, DirectCallOptions, Driver, DriverFault, FaultOptions, LostConfirmationForm, SubmitOptions } from '../../conformance/driver.ts';
import { replacedResult } from '../lost-confirmation.ts';
import { DRIVER_FAULTS } from '../../conformance/driver.ts';
import type { InProcessEnvironment, InProcessSystem, InProcessTarget, TargetSettings } from '../../conformance/in-process-target.ts';
import type { ScriptedControlPlane } from '../control-plane/scripted-control-plane.ts';
import type { HistoryRecorder } from '../history-recorder.ts';
import { directCallFields } from '../history-recorder.ts';
import { RecordingSink } from '../recording-sink.ts';

export const ALL_CAPABILITIES: readonly Capability[] = [
  ...DRIVER_FAULTS,
  'clock-offset',
  'crash-restart',
  'direct-execution',
  'audit-export',
  'reset',
];

const FAULT_KIND: Record<DriverFault, FaultKind> = {
  'nonce-store-down': 'nonce-store-down',
  'nonce-store-unconfirmed': 'nonce-store-unconfirmed',
  'audit-down': 'audit-down',
  'execution-partition': 'execution-partition',
  'execution-tamper': 'execution-tamper',
  'execution-unconfirmed': 'execution-unconfirmed',
  'execution-delayed': 'execution-delayed',
};

export interface InProcessDriverOptions {
  controlPlane: ScriptedControlPlane;
  recorder: HistoryRecorder;
  identityKeys: readonly IdentityKey[];
  trustedKeys: readonly TrustedKey[];
  settings: TargetSettings;
}

interface Durable {
  nonces: FaultyClaimStore;
  approvals: MemoryClaimStore;
  auditInner: MemoryAuditLog;
  audit: FaultyAuditLog;
}

export class InProcessDriver implements Driver {
  readonly target: string;
  readonly capabilities: ReadonlySet<Capability> = new Set(ALL_CAPABILITIES);
  private readonly clock = new OffsetClock();
  private durable!: Durable;
  private system!: InProcessSystem;
  private env!: InProcessEnvironment;
  private readonly linkFaults = new Set<DriverFault>();
  /** how execution-unconfirmed loses the answer while it is on */
  private confirmationForm: LostConfirmationForm = 'reset';
  private readonly spans = new Map<string, FaultSpan>();

  constructor(
    private readonly targetUnderTest: InProcessTarget,
    private readonly options: InProcessDriverOptions,
  ) {
    this.target = `${targetUnderTest.name} (in-process)`;
    // Like a gate someone started: ready to serve before anyone resets it.
    this.startFresh();
  }

  async reset(): Promise<void> {
    this.startFresh();
  }

  /** A new system on empty stores, no faults, no clock offset. */
  private startFresh(): void {
    this.system?.halt?.();
    this.clock.offsetMs = 0;
    this.linkFaults.clear();
    this.spans.clear();
    const auditInner = new MemoryAuditLog(this.clock);
    this.durable = {
      nonces: new FaultyClaimStore(new MemoryClaimStore(this.clock)),
      approvals: new MemoryClaimStore(this.clock),
      auditInner,
      audit: new FaultyAuditLog(auditInner),
    };
    this.env = {
      clock: this.clock,
      settings: this.options.settings,
      identityKeys: () => this.options.identityKeys,
      trustedKeys: this.options.trustedKeys,
      controlPlane: this.options.controlPlane.link,
      sink: new RecordingSink(this.options.recorder),
      nonces: this.durable.nonces,
      approvals: this.durable.approvals,
      audit: this.durable.audit,
      disk: new Map(),
      interceptExecution: (link) => this.intercept(link),
    };
    this.system = this.targetUnderTest.start(this.env);
  }

  /**
   * The Gate→Execution Layer link, as the active faults make it. Every call that gets onto it is
   * recorded, as the HTTP tier's proxy records what passes it (a partitioned call never leaves).
   */
  private intercept(inner: ExecutionLink): ExecutionLink {
    return {
      execute: async (call, signal, headers) => {
        // As the proxy would see it on the wire: the call as the Gate sent it, with its headers.
        this.captured = { path: '/v1/execute', headers: { 'content-type': 'application/json', ...lowerCased(headers) }, body: structuredClone(call) as unknown as JsonValue };
        if (this.linkFaults.has('execution-partition')) throw new LinkError('unreachable', 'partitioned by the harness');
        const delayed = this.linkFaults.has('execution-delayed');
        const envelope = call.envelope as { approval_id?: unknown } | null | undefined;
        this.options.recorder.executionCall({
          ...(typeof envelope?.approval_id === 'string' ? { approval_id: envelope.approval_id } : {}),
          ...(typeof call.request_id === 'string' ? { request_id: call.request_id } : {}),
          delivery: delayed ? 'late' : 'now',
        });
        const delivered = this.linkFaults.has('execution-tamper') ? { ...call, parameters: changeDeepLeaf(call.parameters) } : call;
        if (delayed) return this.deliverLate(inner, delivered, signal, headers);
        const result = await inner.execute(delivered, signal, headers);
        if (this.linkFaults.has('execution-unconfirmed')) {
          if (this.confirmationForm === 'reset') throw new LinkError('timeout', 'the harness dropped the answer');
          return replacedResult(this.confirmationForm, result);
        }
        return result;
      },
    };
  }

  /**
   * A delayed link: the call is held until the harness releases it (after the Gate answered), then
   * delivered and run; its answer is lost. The Gate meets its own deadline (its signal) meanwhile.
   */
  private deliverLate(inner: ExecutionLink, call: Parameters<ExecutionLink['execute']>[0], signal: AbortSignal, headers?: Parameters<ExecutionLink['execute']>[2]): Promise<never> {
    return new Promise((_, reject) => {
      const gaveUp = () => reject(new LinkError('timeout', 'no answer before the deadline (the harness delivers the call late)'));
      if (signal.aborted) gaveUp();
      else signal.addEventListener('abort', gaveUp, { once: true });
      this.options.controlPlane.late.hold({
        what: 'Execution Layer call',
        deliver: async () => {
          try {
            await inner.execute(call, new AbortController().signal, headers);
          } finally {
            // A Gate with no deadline still waits: it gets no answer, as over a link that lost it.
            reject(new LinkError('timeout', 'delivered late; the answer was lost'));
          }
          return false;
        },
      });
    });
  }

  async submit(body: Uint8Array, options: SubmitOptions = {}): Promise<Answer> {
    const op = this.options.recorder.requestSent(body);
    const answer = await this.system.submit(body, options.headers ? lowerCased(options.headers) : undefined);
    this.options.recorder.response(op, answer);
    return answer;
  }

  /** In-process there is no socket: the system is handed what arrived, as its server would be. */
  async abortUpload(body: Uint8Array, sentBytes: number): Promise<void> {
    const received = body.slice(0, Math.max(0, Math.min(sentBytes, body.length)));
    const op = this.options.recorder.requestSent(received);
    if (this.system.abortUpload) await this.system.abortUpload(received);
    else await this.system.submit(received);
    this.options.recorder.response(op, { status: 'indeterminate' });
  }

  private captured: CapturedExecutionCall | undefined;

  lastExecutionCall(): CapturedExecutionCall | undefined {
    return this.captured && structuredClone(this.captured);
  }

  async callExecutionLayer(call: JsonValue, options: DirectCallOptions = {}): Promise<Answer> {
    const recorded = this.options.recorder.directCall(directCallFields(call));
    const answer = await this.system.executeDirect(call, options.headers ? lowerCased(options.headers) : undefined);
    recorded.settle(answer);
    return answer;
  }


  async setFault(fault: DriverFault, active: boolean, options: FaultOptions = {}): Promise<void> {
    if (fault === 'execution-unconfirmed') this.confirmationForm = active ? (options.confirmation ?? 'reset') : 'reset';
    switch (fault) {
      case 'nonce-store-down':
        this.durable.nonces.mode = active ? 'unavailable' : 'healthy';
        break;
      case 'nonce-store-unconfirmed':
        this.durable.nonces.mode = active ? 'unconfirmed' : 'healthy';
        break;
      case 'audit-down':
        this.durable.audit.mode = active ? 'failing' : 'healthy';
        break;
      default:
        if (active) this.linkFaults.add(fault);
        else this.linkFaults.delete(fault);
    }
    const span = this.spans.get(fault);
    if (active && !span) this.spans.set(fault, this.options.recorder.faultStarted(FAULT_KIND[fault], fault));
    if (!active && span) {
      this.options.recorder.faultHealed(span);
      this.spans.delete(fault);
    }
  }

  async setClockOffset(offsetMs: number): Promise<void> {
    this.clock.offsetMs = offsetMs;
    const span = this.spans.get('clock');
    if (span) {
      this.options.recorder.faultHealed(span);
      this.spans.delete('clock');
    }
    if (offsetMs !== 0) this.spans.set('clock', this.options.recorder.faultStarted('clock-offset', `${offsetMs} ms`));
  }

  async crashAndRestart(): Promise<void> {
    const span = this.options.recorder.faultStarted('crash');
    // Whatever the old system kept outside the environment dies with it, and it does nothing more.
    this.system.halt?.();
    this.system = this.targetUnderTest.start(this.env);
    this.options.recorder.faultHealed(span);
  }

  async settle(): Promise<void> {
    await this.system.settle?.();
  }

  readonly sharesHarnessClock = true;

  async peekAuditExport(): Promise<JsonValue[][]> {
    if (this.system.auditExport) return [await this.system.auditExport()];
    return [(await this.durable.auditInner.records()) as unknown as JsonValue[]];
  }

  async auditExport(): Promise<JsonValue[][]> {
    if (this.system.gatewayEvents) this.options.recorder.gatewayEvents(this.system.gatewayEvents());
    if (this.system.auditExport) return [await this.system.auditExport()];
    return [(await this.durable.auditInner.records()) as unknown as JsonValue[]];
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.durable?.nonces.close(), this.durable?.approvals.close(), this.durable?.audit.close()]);
  }
}

function lowerCased(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}
