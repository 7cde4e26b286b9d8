// One HTTP POST with a deadline, telling apart what happened on the wire:
//   { kind: 'response', status, body }   a complete answer arrived
//   { kind: 'refused' }                  no connection was made: nothing was sent
//   { kind: 'timeout', connected }       no complete answer before the deadline
//   { kind: 'broken' }                   the connection failed after it was made
// A fresh connection per call (no keep-alive pool), so "nothing was sent" is knowable.
import http from 'node:http';
import https from 'node:https';
import { readResponse } from './body.js';

const MAX_RESPONSE = 1024 * 1024;

export function postJson(url, body, { deadlineMs, headers = {}, onLateResult } = {}) {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    let timedOut = false;
    let lateDelivered = false;
    const payload = Buffer.from(body, 'utf8');
    const settle = (v) => {
      if (timedOut && onLateResult && !lateDelivered) {
        lateDelivered = true;
        onLateResult(v);
      }
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(v);
    };
    const req = lib.request(u, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': payload.length, ...headers },
    });
    const timer = setTimeout(() => {
      if (onLateResult) {
        // Kept alive for a late answer (used only by a planted defect).
        timedOut = true;
        settled = true;
        resolve({ kind: 'timeout', connected });
        return;
      }
      settle({ kind: 'timeout', connected });
      req.destroy(new Error('deadline'));
    }, deadlineMs);
    req.on('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => { connected = true; });
    });
    req.on('error', () => settle(connected ? { kind: 'broken' } : { kind: 'refused' }));
    req.on('response', async (res) => {
      const buf = await readResponse(res, MAX_RESPONSE);
      if (buf === null) settle({ kind: 'broken' });
      else settle({ kind: 'response', status: res.statusCode, body: buf, headers: res.headers });
    });
    req.end(payload);
  });
}
