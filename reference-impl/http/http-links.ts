/**
 * The Gate's links to a Control Plane and an Execution Layer over HTTP. A refused connection is
 * "unreachable" (nothing arrived); a deadline or a broken answer after sending is "timeout"
 * (it may have arrived). Only a 200 from the Control Plane carries a decision: a 5xx is
 * unreachable (no decision was made), any other status "malformed" — a redirect included, which
 * is never followed (neither link follows one: the answer would come from somewhere else).
 * Never retried: a retry could execute after a denial was returned.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalBytes } from '../../model/profile/canonical-json.ts';
import type { PolicyQuestion } from '../../model/profile/messages.ts';
import type { ExecutionCall } from '../execution-layer/execution-layer.ts';
import type { ControlPlaneLink, ExecutionLink } from '../gate/links.ts';
import { LinkError } from '../gate/links.ts';

const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

function classify(error: unknown, what: string): LinkError {
  if (error instanceof LinkError) return error;
  const code = (error as { code?: string }).code;
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') return new LinkError('timeout', `${what}: no answer by the deadline`, { cause: error });
  if (code && NOT_SENT.has(code)) return new LinkError('unreachable', `${what}: ${code}`, { cause: error });
  return new LinkError('timeout', `${what}: ${(error as Error).message}`, { cause: error });
}

/**
 * node:http with kept-alive connections rather than fetch: fetch (undici) cost the Gate more per
 * call than the rest of its HTTP work together. An idle connection is closed by this side after
 * IDLE_MS (or a second before the server's announced keep-alive timeout, whichever is sooner), so
 * a server closing an idle connection never races a request sent on it (Node servers: 5 s).
 */
const IDLE_MS = 2_000;
const AGENTS = { 'http:': new HttpAgent({ keepAlive: true, timeout: IDLE_MS }), 'https:': new HttpsAgent({ keepAlive: true, timeout: IDLE_MS }) };

interface Answer {
  status: number;
  body: Uint8Array;
}

/** POSTs canonical JSON and reads the whole answer, before `signal` aborts. Never follows a redirect. */
function post(url: URL, value: JsonValue | object, signal: AbortSignal, what: string, headers: Readonly<Record<string, string>> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => reject(classify(signal.aborted ? Object.assign(new Error('deadline'), { name: 'TimeoutError', cause: error }) : error, what));
    if (signal.aborted) return fail(new Error('deadline'));
    let body: Uint8Array;
    try {
      body = canonicalBytes(value);
    } catch (error) {
      return fail(error);
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const agent = url.protocol === 'https:' ? AGENTS['https:'] : AGENTS['http:'];
    const req = send(url, { method: 'POST', agent, signal, headers: { ...headers, 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        // A body cut short (the connection closed mid-answer) is not an answer.
        if (!res.complete) return fail(new Error('the answer was cut short'));
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, body: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
      });
      res.on('error', fail);
      res.on('aborted', () => fail(new Error('the answer was cut short')));
    });
    req.on('error', fail);
    req.end(body);
  });
}

export class HttpControlPlaneLink implements ControlPlaneLink {
  private readonly decideUrl: URL;

  constructor(baseUrl: string) {
    this.decideUrl = new URL('/v1/decide', baseUrl);
  }

  async ask(question: PolicyQuestion, signal: AbortSignal): Promise<Uint8Array> {
    const answer = await post(this.decideUrl, question, signal, 'Control Plane');
    if (answer.status !== 200) throw new LinkError(answer.status >= 500 ? 'unreachable' : 'malformed', `Control Plane answered HTTP ${answer.status}`);
    return answer.body;
  }
}

export class HttpExecutionLink implements ExecutionLink {
  private readonly executeUrl: URL;

  constructor(baseUrl: string) {
    this.executeUrl = new URL('/v1/execute', baseUrl);
  }

  async execute(call: ExecutionCall, signal: AbortSignal, headers?: Readonly<Record<string, string>>): Promise<Uint8Array> {
    const answer = await post(this.executeUrl, call, signal, 'Execution Layer', headers);
    // Only a 200 (executed) or a 403 (denied) carries a result; whatever a 5xx says, it may have run.
    if (answer.status !== 200 && answer.status !== 403) throw new LinkError('malformed', `Execution Layer answered HTTP ${answer.status}`);
    return answer.body;
  }
}
