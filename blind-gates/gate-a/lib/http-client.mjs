// One HTTP POST with a hard deadline covering connect, send and the complete answer.
// No retries and no connection reuse (a reused keep-alive socket that the peer closed would turn
// into a spurious failure we are not allowed to retry). Tells apart "nothing was sent"
// (failure before the TCP connection existed) from "sent, outcome unknown".
import http from 'node:http';
import https from 'node:https';

/**
 * -> { kind: 'answer', status, body: Buffer }
 *  | { kind: 'failed', sent: boolean, timedOut: boolean, error }
 */
export function postJson(url, bodyText, { deadlineMs, maxBytes = 1024 * 1024, headers = {} }) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const payload = Buffer.from(bodyText, 'utf8');
    let connected = false;
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = mod.request(u, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': payload.length, connection: 'close', ...headers },
    });
    const timer = setTimeout(() => {
      finish({ kind: 'failed', sent: connected, timedOut: true, error: new Error('deadline exceeded') });
      req.destroy();
    }, Math.max(1, deadlineMs));
    req.on('socket', (s) => {
      if (!s.connecting) connected = true;
      else s.once('connect', () => { connected = true; });
    });
    req.on('error', (error) => finish({ kind: 'failed', sent: connected, timedOut: false, error }));
    req.on('response', (res) => {
      const chunks = [];
      let size = 0;
      res.on('data', (c) => {
        size += c.length;
        if (size > maxBytes) {
          finish({ kind: 'answer', status: res.statusCode, body: null, tooLarge: true });
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => finish({ kind: 'answer', status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', (error) => finish({ kind: 'failed', sent: true, timedOut: false, error }));
      res.on('close', () => {
        if (!res.complete) finish({ kind: 'failed', sent: true, timedOut: false, error: new Error('answer cut off') });
      });
    });
    req.end(payload);
  });
}
