/**
 * The Gate→Execution Layer link with the contract's `execution-*` faults, switched by the
 * conformance control channel. For a gate that reaches its own Execution Layer directly (no
 * FAILCLOSED_EXECUTION_LAYER_URL, so no harness proxy in between), this is how it provides those
 * faults itself — with the meaning CONTRACT.md section 9 gives them:
 *   execution-partition   the call fails before anything is sent (nothing runs, now or later)
 *   execution-tamper      the call arrives with its parameters rewritten in flight
 *   execution-unconfirmed the call arrives and runs; its answer is lost
 *   execution-delayed     the call is held until the Gate's deadline for it has passed (its signal
 *                         aborts), then delivered GATE_LATE_DELIVERY_MS later, and runs; the Gate
 *                         never hears of it (CONTRACT.md section 9: within 1 s of the Gate's answer)
 */
import { changeDeepLeaf } from '../../model/deep-leaf.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import type { ExecutionCall } from '../execution-layer/execution-layer.ts';
import type { ExecutionLink } from './links.ts';
import { LinkError } from './links.ts';

export const EXECUTION_LINK_FAULTS = ['execution-partition', 'execution-tamper', 'execution-unconfirmed', 'execution-delayed'] as const;

/** How long after the Gate gave up a delayed call reaches the Execution Layer. */
export const GATE_LATE_DELIVERY_MS = 100;
/** A late delivery is one bounded call. */
const LATE_DELIVERY_TIMEOUT_MS = 5_000;
export type ExecutionLinkFault = (typeof EXECUTION_LINK_FAULTS)[number];

export function isExecutionLinkFault(fault: string): fault is ExecutionLinkFault {
  return (EXECUTION_LINK_FAULTS as readonly string[]).includes(fault);
}

/** What a man in the middle does to the parameters: change one deep leaf (as the harness's proxy does). */
export function tamperParameters(parameters: JsonValue): JsonValue {
  return changeDeepLeaf(parameters);
}

export class FaultyExecutionLink implements ExecutionLink {
  constructor(
    private readonly inner: ExecutionLink,
    /** the faults active now (shared with whoever switches them, and kept across a restart) */
    private readonly active: ReadonlySet<ExecutionLinkFault>,
  ) {}

  async execute(call: ExecutionCall, signal: AbortSignal, headers?: Readonly<Record<string, string>>): Promise<Uint8Array | JsonValue> {
    if (this.active.has('execution-partition')) throw new LinkError('unreachable', 'the Execution Layer is partitioned away (conformance fault)');
    const delivered = this.active.has('execution-tamper') ? { ...call, parameters: tamperParameters(call.parameters) } : call;
    if (this.active.has('execution-delayed')) return this.deliverLate(delivered, signal, headers);
    const result = await this.inner.execute(delivered, signal, headers);
    if (this.active.has('execution-unconfirmed')) throw new LinkError('timeout', 'the Execution Layer answered, and the answer was lost (conformance fault)');
    return result;
  }

  /** Held until the Gate gives up (its signal), then delivered a little later; the answer goes nowhere. */
  private deliverLate(call: ExecutionCall, signal: AbortSignal, headers?: Parameters<ExecutionLink['execute']>[2]): Promise<never> {
    return new Promise((_, reject) => {
      const gaveUp = () => {
        setTimeout(() => void this.inner.execute(call, AbortSignal.timeout(LATE_DELIVERY_TIMEOUT_MS), headers).catch(() => undefined), GATE_LATE_DELIVERY_MS);
        reject(new LinkError('timeout', 'no answer before the deadline: the call is delivered late (conformance fault)'));
      };
      if (signal.aborted) gaveUp();
      else signal.addEventListener('abort', gaveUp, { once: true });
    });
  }
}
