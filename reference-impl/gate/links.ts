/**
 * How the Gate reaches its two dependencies. In-process wiring passes function calls; HTTP wiring
 * passes clients. Either way a link either answers, or throws a LinkError that says whether the
 * request could have arrived — the difference between "unavailable" and "unconfirmed".
 */
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import type { PolicyQuestion } from '../../model/profile/messages.ts';
import type { ExecutionCall } from '../execution-layer/execution-layer.ts';

export class LinkError extends Error {
  constructor(
    /**
     * unreachable: the request did not leave or was refused; timeout: no answer by the deadline;
     * malformed: an answer came that cannot be one (an HTTP status that carries no decision)
     */
    readonly kind: 'unreachable' | 'timeout' | 'malformed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LinkError';
  }
}

/** Resolves to the raw bytes (or value) the Control Plane answered; the Gate validates it. */
export interface ControlPlaneLink {
  ask(question: PolicyQuestion, signal: AbortSignal): Promise<Uint8Array | JsonValue>;
}

/**
 * Resolves to the raw answer of the Execution Layer; the Gate validates it. `headers`: what the
 * Gate puts on the call besides the content type (the reference puts nothing).
 */
export interface ExecutionLink {
  execute(call: ExecutionCall, signal: AbortSignal, headers?: Readonly<Record<string, string>>): Promise<Uint8Array | JsonValue>;
}
