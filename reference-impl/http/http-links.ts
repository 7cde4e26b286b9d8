/**
 * The Gate's links to a Control Plane and an Execution Layer over HTTP. A refused connection is
 * "unreachable" (nothing arrived); a deadline or a broken answer after sending is "timeout"
 * (it may have arrived). Only a 200 from the Control Plane carries a decision: a 5xx is
 * unreachable (no decision was made), any other status "malformed" — a redirect included, which
 * is never followed (neither link follows one: the answer would come from somewhere else).
 * Never retried: a retry could execute after a denial was returned.
 */
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalBytes } from '../../model/profile/canonical-json.ts';
import type { PolicyQuestion } from '../../model/profile/messages.ts';
import type { ExecutionCall } from '../execution-layer/execution-layer.ts';
import type { ControlPlaneLink, ExecutionLink } from '../gate/links.ts';
import { LinkError } from '../gate/links.ts';

const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

function classify(error: unknown, what: string): LinkError {
  if (error instanceof LinkError) return error;
  const cause = (error as { cause?: { code?: string } }).cause;
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') return new LinkError('timeout', `${what}: no answer by the deadline`, { cause: error });
  if (cause?.code && NOT_SENT.has(cause.code)) return new LinkError('unreachable', `${what}: ${cause.code}`, { cause: error });
  return new LinkError('timeout', `${what}: ${(error as Error).message}`, { cause: error });
}

async function post(url: string, value: JsonValue | object, signal: AbortSignal, what: string, headers: Readonly<Record<string, string>> = {}): Promise<Response> {
  try {
    return await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: canonicalBytes(value), signal, redirect: 'manual' });
  } catch (error) {
    throw classify(error, what);
  }
}

async function bodyOf(response: Response, signal: AbortSignal, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw classify(signal.aborted ? Object.assign(new Error('deadline'), { name: 'TimeoutError' }) : error, what);
  }
}

export class HttpControlPlaneLink implements ControlPlaneLink {
  constructor(private readonly baseUrl: string) {}

  async ask(question: PolicyQuestion, signal: AbortSignal): Promise<Uint8Array> {
    const response = await post(new URL('/v1/decide', this.baseUrl).href, question, signal, 'Control Plane');
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new LinkError(response.status >= 500 ? 'unreachable' : 'malformed', `Control Plane answered HTTP ${response.status}`);
    }
    return bodyOf(response, signal, 'Control Plane');
  }
}

export class HttpExecutionLink implements ExecutionLink {
  constructor(private readonly baseUrl: string) {}

  async execute(call: ExecutionCall, signal: AbortSignal, headers?: Readonly<Record<string, string>>): Promise<Uint8Array> {
    const response = await post(new URL('/v1/execute', this.baseUrl).href, call, signal, 'Execution Layer', headers);
    return bodyOf(response, signal, 'Execution Layer');
  }
}
