/**
 * The harness's effect sink over HTTP, for an Execution Layer that reports effects to a URL.
 *   POST /v1/effects   one EffectRecord as JSON → 204 once recorded; 400 when malformed
 *   GET  /healthz
 * The sink is ground truth: a valid report is answered only after it was recorded, and never dropped.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { EffectRecord, EffectSink } from '../../reference-impl/execution-layer/effect-sink.ts';
import { closeServer, listen, readBody, sendJson } from '../../reference-impl/http/http-util.ts';
import { isJsonObject, sendBytes } from './service-util.ts';

export const EFFECT_BODY_LIMIT = 1024 * 1024;

export interface EffectSinkServerOptions {
  host?: string;
  port?: number;
}

export interface EffectSinkServer {
  /** base URL, what an Execution Layer is configured with; reports go to `${url}/v1/effects` (= effectsUrl) */
  url: string;
  effectsUrl: string;
  /** valid reports recorded */
  readonly received: number;
  /** reports refused as malformed */
  readonly rejected: number;
  close(): Promise<void>;
}

/** The record, or what is wrong with it. Unknown extra fields are ignored, not refused. */
export function readEffectRecord(value: JsonValue): EffectRecord | string {
  if (!isJsonObject(value)) return 'the report is not a JSON object';
  for (const field of ['effect_id', 'approval_id', 'request_id', 'identity', 'action'] as const) {
    if (typeof value[field] !== 'string') return `${field} must be a string`;
  }
  if (typeof value.at !== 'number' || !Number.isFinite(value.at)) return 'at must be a number';
  if (!('parameters' in value)) return 'parameters is missing';
  const v = value as unknown as EffectRecord;
  return { effect_id: v.effect_id, at: v.at, approval_id: v.approval_id, request_id: v.request_id, identity: v.identity, action: v.action, parameters: v.parameters };
}

export async function startEffectSinkServer(sink: EffectSink, options: EffectSinkServerOptions = {}): Promise<EffectSinkServer> {
  let received = 0;
  let rejected = 0;

  async function report(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, EFFECT_BODY_LIMIT);
    if (body.truncated) return;
    let record: EffectRecord | string = 'the report is too large';
    if (body.bytes) {
      try {
        record = readEffectRecord(parseStrictJson(body.bytes));
      } catch (error) {
        record = `the report is not strict JSON: ${(error as Error).message}`;
      }
    }
    if (typeof record === 'string') {
      rejected += 1;
      return sendBytes(res, 400, record, 'text/plain');
    }
    // Recorded even if the reporter has gone meanwhile: the effect happened either way.
    await sink.report(record);
    received += 1;
    if (!res.destroyed) {
      res.writeHead(204);
      res.end();
    }
  }

  const server = createServer((req, res) => {
    res.on('error', () => undefined);
    const handle = async () => {
      const url = new URL(req.url ?? '/', 'http://effect-sink');
      if (req.method === 'POST' && url.pathname === '/v1/effects') return report(req, res);
      if (req.method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok', role: 'effect-sink (harness)' });
      sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    };
    handle().catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: (error as Error).message });
      else res.destroy();
    });
  });
  const url = await listen(server, options.host ?? '127.0.0.1', options.port ?? 0);
  return {
    url,
    effectsUrl: `${url}/v1/effects`,
    get received() {
      return received;
    },
    get rejected() {
      return rejected;
    },
    close: () => closeServer(server),
  };
}
