/**
 * The Control Plane the harness plays, over HTTP, for a gate under test that runs as its own
 * process. Every answer comes from the ScriptedControlPlane (which records the exchange):
 *   POST /v1/decide   a policy question → the scripted answer (JSON, garbage bytes, 503, silence, a
 *                     redirect or a 4xx with an allow in it)
 *   /v1/decide/redirected/<token>   what waits behind such a redirect (a valid allow: bait)
 *   GET  /v1/keys     the keys the harness signs envelopes with, for gates that fetch them
 *   GET  /healthz
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalBytes, parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { PolicyQuestion, TrustedKey } from '../../model/profile/messages.ts';
import { LinkError } from '../../reference-impl/gate/links.ts';
import { closeServer, listen, readBody, sendJson } from '../../reference-impl/http/http-util.ts';
import type { ScriptedControlPlane } from '../control-plane/scripted-control-plane.ts';
import { HttpAnswer } from '../control-plane/scripted-control-plane.ts';
import { SILENCE_LIMIT_MS, clientLeft, holdSilently, isJsonObject, sendBytes } from './service-util.ts';

export const CONTROL_PLANE_BODY_LIMIT = 1024 * 1024;
/** What an "unreachable" Control Plane answers: a proxy's error page, not a decision. */
export const UNAVAILABLE_PAGE = '<html><body><h1>503 Service Unavailable</h1></body></html>';

export interface ControlPlaneServerOptions {
  host?: string;
  port?: number;
  /** served at GET /v1/keys */
  trustedKeys?: readonly TrustedKey[];
}

export interface ControlPlaneServer {
  url: string;
  close(): Promise<void>;
}

export async function startControlPlaneServer(controlPlane: ScriptedControlPlane, options: ControlPlaneServerOptions = {}): Promise<ControlPlaneServer> {
  const keys = structuredClone([...(options.trustedKeys ?? [])]);

  async function decide(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const left = clientLeft(res);
    const body = await readBody(req, CONTROL_PLANE_BODY_LIMIT);
    if (body.truncated) return; // the gate hung up mid-question: no one to answer
    if (!body.bytes) return sendBytes(res, 413, 'question too large', 'text/plain');
    // Garbage from the gate is not a question: it is answered 400 and recorded nowhere.
    let question: JsonValue;
    try {
      question = parseStrictJson(body.bytes);
    } catch (error) {
      return sendBytes(res, 400, `the question is not strict JSON: ${(error as Error).message}`, 'text/plain');
    }
    if (!isJsonObject(question)) return sendBytes(res, 400, 'the question is not a JSON object', 'text/plain');

    let answer: Uint8Array | JsonValue | HttpAnswer;
    try {
      answer = await controlPlane.respond(question as unknown as PolicyQuestion, left);
    } catch (error) {
      if (error instanceof LinkError && error.kind === 'unreachable') return sendBytes(res, 503, UNAVAILABLE_PAGE, 'text/html');
      // Silence: the gate must reach its own deadline. Bounded, should it set none.
      if (error instanceof LinkError && error.kind === 'timeout') return holdSilently(res, left, SILENCE_LIMIT_MS - (Date.now() - started));
      throw error;
    }
    if (answer instanceof HttpAnswer) {
      res.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.byteLength });
      return void res.end(answer.body);
    }
    // Garbage answers are labelled JSON so that the gate's parser, not a header check, must refuse them.
    if (answer instanceof Uint8Array) return sendBytes(res, 200, answer, 'application/json');
    sendBytes(res, 200, canonicalBytes(answer), 'application/json');
  }

  const server = createServer((req, res) => {
    const handle = async () => {
      const url = new URL(req.url ?? '/', 'http://control-plane');
      if (req.method === 'POST' && url.pathname === '/v1/decide') return decide(req, res);
      // Behind a redirect the harness sent: the valid allow a gate that follows redirects gets.
      const redirected = /^\/v1\/decide\/redirected\/([^/]+)$/.exec(url.pathname);
      const behind = redirected ? controlPlane.redirectTarget(decodeURIComponent(redirected[1]!)) : undefined;
      if (behind !== undefined) {
        req.resume();
        return sendBytes(res, 200, canonicalBytes(behind), 'application/json');
      }
      if (req.method === 'GET' && url.pathname === '/v1/keys') return sendJson(res, 200, { keys });
      if (req.method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok', role: 'control-plane (harness)' });
      sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    };
    handle().catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: (error as Error).message });
      else res.destroy();
    });
  });
  const url = await listen(server, options.host ?? '127.0.0.1', options.port ?? 0);
  return { url, close: () => closeServer(server) };
}
