// The Execution Layer's HTTP face: POST /v1/execute and GET /healthz. It listens on its own port;
// the Gate reaches it only over HTTP (FAILCLOSED_EXECUTION_LAYER_URL, or this address).
import http from 'node:http';
import { readBody } from '../http/body.js';

const MAX_BODY = 1024 * 1024;

export function createExecutionLayerServer(executor) {
  return http.createServer(async (req, res) => {
    const send = (status, body) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const path = new URL(req.url, 'http://x').pathname;
    if (req.method === 'GET' && path === '/healthz') return send(200, { status: 'ok', role: 'execution-layer' });
    if (path !== '/v1/execute') return send(404, { error: 'not found' });
    if (req.method !== 'POST') return send(405, { error: 'method not allowed' });
    const body = await readBody(req, { maxBuffer: MAX_BODY, maxRead: 8 * MAX_BODY, idleMs: 3000 });
    if (body.state === 'aborted') return undefined;
    if (body.state !== 'complete') {
      return send(403, { status: 'denied', code: 'REQUEST_MALFORMED', reason: `body ${body.state}` });
    }
    const r = await executor.execute(body.bytes, req.headers);
    return send(r.status, r.body);
  });
}
