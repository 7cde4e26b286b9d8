/**
 * A tiny gate for the harness's own tests, written against the contract's wire format only: it
 * asks the harness's Control Plane, reports an effect for every allow and answers 200 / 403, and
 * it serves a control channel whose calls can be made to fail on purpose (a reset connection, an
 * HTTP 500, silence) — what a real gate that drops a control call looks like to the harness.
 * It checks nothing and audits nothing: it is a fixture, not a gate to be found compliant.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { canonicalBytes, parseStrictJson } from '../model/profile/canonical-json.ts';
import { digestJson } from '../model/profile/digest.ts';
import { closeServer, listen, readBody, sendJson } from '../reference-impl/http/http-util.ts';

export type ControlBehaviour = 'ok' | 'reset' | 'error' | 'silent';
export type ControlRoute = 'reset' | 'fault' | 'clock' | 'restart';

export interface FakeGateOptions {
  capabilities: string[];
  /** announced in the handshake */
  executionLayerUrl?: string;
  controlPlaneUrl: string;
  effectSinkUrl: string;
  /** how each control route misbehaves (default: answers 204) */
  control?: Partial<Record<ControlRoute, ControlBehaviour>>;
  /** the body of GET /v1/audit (default: an empty array) */
  audit?: string;
}

export interface FakeGate {
  url: string;
  /** every control call received, as "route {body}" */
  readonly calls: string[];
  close(): Promise<void>;
}

export async function startFakeGate(options: FakeGateOptions): Promise<FakeGate> {
  const calls: string[] = [];
  const held = new Set<ServerResponse>();

  async function request(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const traceId = `trace-${randomUUID()}`;
    const body = await readBody(req, 1024 * 1024);
    let value: Record<string, unknown>;
    try {
      value = parseStrictJson(body.bytes ?? new Uint8Array()) as Record<string, unknown>;
      if (typeof value !== 'object' || value === null || typeof value.request_id !== 'string') throw new Error('not a request');
    } catch {
      return sendJson(res, 403, { status: 'denied', code: 'REQUEST_MALFORMED', trace_id: traceId });
    }
    const question = { request_id: value.request_id, identity: value.identity, action: value.action, parameters: value.parameters, parameters_digest: digestJson(value.parameters as never) };
    const denied = (code: string) => sendJson(res, 403, { status: 'denied', code, trace_id: traceId, request_id: value.request_id });
    let answer: { decision?: string; envelope?: { approval_id?: string } };
    try {
      const response = await fetch(new URL('/v1/decide', options.controlPlaneUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: new TextDecoder().decode(canonicalBytes(question as never)), signal: AbortSignal.timeout(750) });
      answer = (await response.json()) as typeof answer;
    } catch {
      return denied('CONTROL_PLANE_UNAVAILABLE');
    }
    if (answer.decision !== 'allow' || !answer.envelope) return denied('POLICY_DENIED');
    const effectId = `effect-${randomUUID()}`;
    const effect = { effect_id: effectId, at: Date.now(), approval_id: answer.envelope.approval_id, request_id: value.request_id, identity: value.identity, action: value.action, parameters: value.parameters };
    const reported = await fetch(new URL('/v1/effects', options.effectSinkUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(effect) });
    await reported.body?.cancel();
    if (!reported.ok) return denied('EXECUTION_UNCONFIRMED');
    sendJson(res, 200, { status: 'executed', trace_id: traceId, request_id: value.request_id, effect_id: effectId });
  }

  async function control(route: ControlRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, 4096);
    calls.push(`${route} ${new TextDecoder().decode(body.bytes ?? new Uint8Array())}`);
    switch (options.control?.[route] ?? 'ok') {
      case 'ok':
        res.writeHead(204);
        return void res.end();
      case 'reset':
        // What a gate that crashes on the call looks like: the connection is reset, no answer.
        return void req.socket.resetAndDestroy();
      case 'error':
        return sendJson(res, 500, { error: 'the fault switch blew up' });
      case 'silent':
        held.add(res);
        return;
    }
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://gate').pathname;
    const route = `${req.method} ${path}`;
    const handle = async () => {
      if (route === 'GET /healthz') return sendJson(res, 200, { status: 'ok' });
      if (route === 'GET /failclosed/v1/hello') {
        return sendJson(res, 200, { protocol: 'failclosed-control/1', capabilities: options.capabilities, ...(options.executionLayerUrl ? { execution_layer_url: options.executionLayerUrl } : {}) });
      }
      const controlRoute = /^POST \/failclosed\/v1\/(reset|fault|clock|restart)$/.exec(route);
      if (controlRoute) return control(controlRoute[1] as ControlRoute, req, res);
      if (route === 'POST /v1/requests') return request(req, res);
      if (route === 'GET /v1/audit') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(options.audit ?? '[]');
      }
      sendJson(res, 404, { error: `no route ${route}` });
    };
    handle().catch(() => res.destroy());
  });
  const url = await listen(server, '127.0.0.1', 0);
  return {
    url,
    calls,
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await closeServer(server);
    },
  };
}
