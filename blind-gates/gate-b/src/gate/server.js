// The Gate's HTTP ingress: POST /v1/requests, GET /v1/audit, GET /v1/events, GET /healthz.
// There is no conformance control channel: every /failclosed/... path is an unknown route (404).
import http from 'node:http';
import { readBody } from '../http/body.js';
import { freshId } from '../profile/crypto.js';

const LIMITS = {
  maxBuffer: 1024 * 1024, // bodies over 1 MiB are denied REQUEST_MALFORMED
  maxRead: 64 * 1024 * 1024, // hashed up to 64 MiB, then the answer is given and the link closed
  idleMs: 3000, // a stalled upload is answered, not waited for
};

export function createGateServer({ pipeline, audit, events, isReady, log }) {
  const server = http.createServer(async (req, res) => {
    const send = (status, body, contentType = 'application/json') => {
      if (res.headersSent || res.destroyed) return;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      const url = new URL(req.url, 'http://gate');
      const route = `${req.method} ${url.pathname}`;
      if (url.pathname === '/v1/requests') {
        if (req.method !== 'POST') return send(405, { error: 'method not allowed' });
        const traceId = freshId('trace');
        const body = await readBody(req, LIMITS);
        const { status, answer } = await pipeline.handle(body, traceId);
        if (body.state === 'aborted') return undefined; // audited; no one is left to answer
        if (body.state === 'too-large') res.setHeader('connection', 'close');
        return send(status, answer);
      }
      switch (route) {
        case 'GET /healthz':
          return isReady() ? send(200, { status: 'ok', role: 'gate' }) : send(503, { status: 'starting' });
        case 'GET /v1/audit': {
          if (!(await audit.flush())) return send(503, { error: 'audit records are waiting to be written' });
          if (url.searchParams.get('format') === 'ndjson') {
            return send(200, audit.records.map((r) => JSON.stringify(r) + '\n').join(''), 'application/x-ndjson');
          }
          return send(200, audit.records);
        }
        case 'GET /v1/events':
          return send(200, events.all());
        default:
          return send(404, { error: 'not found' });
      }
    } catch (err) {
      log(`gate: unexpected error serving ${req.method} ${req.url}: ${err.stack ?? err}`);
      return send(403, { status: 'denied', code: 'REQUEST_MALFORMED', trace_id: freshId('trace') });
    }
  });
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  return server;
}
