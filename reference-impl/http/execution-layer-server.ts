/**
 * The Execution Layer over HTTP — reachable by anyone on its network, which is why it re-validates
 * everything itself.
 *   POST /v1/execute  {envelope, request_id, identity, action, parameters}
 *                     → 200 {status:"executed",effect_id,…} or 403 {status:"denied",code,…}
 *   GET  /healthz
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { ExecutionLayer } from '../execution-layer/execution-layer.ts';
import { flatHeaders, pathnameOf, readBody, sendJson } from './http-util.ts';

/** A question or call carries a request's parameters: allow what the Gate allows, with room to spare. */
export const DEFAULT_BODY_LIMIT = 256 * 1024;

/** `executionLayer` may be a lookup: a restart replaces the Execution Layer behind the server. */
export function createExecutionLayerServer(executionLayer: ExecutionLayer | (() => ExecutionLayer), limit = DEFAULT_BODY_LIMIT): Server {
  const current = typeof executionLayer === 'function' ? executionLayer : () => executionLayer;
  return createServer(async (req, res) => {
    try {
      const pathname = pathnameOf(req.url, 'http://execution-layer');
      if (req.method === 'POST' && pathname === '/v1/execute') {
        const body = await readBody(req, limit);
        if (!body.bytes) return body.truncated ? undefined : sendJson(res, 403, { status: 'denied', code: 'REQUEST_MALFORMED', reason: 'call too large' });
        let call;
        try {
          call = parseStrictJson(body.bytes);
        } catch (error) {
          return sendJson(res, 403, { status: 'denied', code: 'REQUEST_MALFORMED', reason: (error as Error).message });
        }
        const result = await current().execute(call, { headers: flatHeaders(req) });
        return sendJson(res, result.status === 'executed' ? 200 : 403, result);
      }
      if (req.method === 'GET' && pathname === '/healthz') return sendJson(res, 200, { status: 'ok', role: 'execution-layer' });
      sendJson(res, 404, { error: `no route ${req.method} ${pathname}` });
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: (error as Error).message });
    }
  });
}
