// Reading a request body with limits. Every byte received is hashed (the audit's request_hash),
// but only the first `maxBuffer` bytes are kept. An upload that stalls or is aborted is reported
// as incomplete rather than waited for.
import { createHash } from 'node:crypto';

export function readBody(req, { maxBuffer, maxRead, idleMs }) {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    const chunks = [];
    let total = 0;
    let done = false;
    let idle;

    const finish = (state) => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      req.removeListener('data', onData);
      resolve({
        state, // 'complete' | 'too-large' | 'stalled' | 'aborted'
        bytes: total <= maxBuffer ? Buffer.concat(chunks) : null,
        total,
        requestHash: 'sha256:' + hash.digest('hex'),
      });
    };
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => finish('stalled'), idleMs);
    };
    const onData = (chunk) => {
      hash.update(chunk);
      total += chunk.length;
      if (total <= maxBuffer) chunks.push(chunk);
      else chunks.length = 0;
      if (total > maxRead) {
        req.pause();
        finish('too-large');
        return;
      }
      armIdle();
    };
    req.on('data', onData);
    req.on('end', () => finish(total > maxBuffer ? 'too-large' : 'complete'));
    req.on('aborted', () => finish('aborted'));
    req.on('error', () => finish('aborted'));
    req.on('close', () => {
      if (!req.complete) finish('aborted');
    });
    armIdle();
  });
}

/** Read a response body with a size limit; resolves null when it is cut short or too large. */
export function readResponse(res, maxBytes) {
  return new Promise((resolve) => {
    const chunks = [];
    let total = 0;
    let settled = false;
    const settle = (v) => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    res.on('data', (c) => {
      total += c.length;
      if (total > maxBytes) {
        res.destroy();
        settle(null);
      } else chunks.push(c);
    });
    res.on('end', () => settle(Buffer.concat(chunks)));
    res.on('aborted', () => settle(null));
    res.on('error', () => settle(null));
    res.on('close', () => {
      if (!res.complete) settle(null);
    });
  });
}
