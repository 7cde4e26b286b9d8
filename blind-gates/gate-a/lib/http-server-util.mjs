// Helpers for the HTTP side: bounded body reading with a running hash, JSON answers.
import { createHash } from 'node:crypto';

/**
 * Read a request body. Keeps at most `keepMax` bytes, hashes every byte received.
 * -> { bytes (Buffer|null when too large), size, requestHash, tooLarge, aborted, timedOut }
 */
export function readBody(req, { keepMax, timeoutMs }) {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    const chunks = [];
    let size = 0;
    let settled = false;
    const result = (extra) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const tooLarge = size > keepMax;
      resolve({ bytes: tooLarge ? null : Buffer.concat(chunks), size, requestHash: `sha256:${hash.copy().digest('hex')}`, tooLarge, aborted: false, timedOut: false, ...extra });
    };
    const timer = setTimeout(() => result({ timedOut: true }), timeoutMs);
    req.on('data', (c) => {
      if (settled) return;
      hash.update(c);
      size += c.length;
      if (size <= keepMax) chunks.push(c);
      else chunks.length = 0;
    });
    req.on('end', () => result({}));
    req.on('error', () => result({ aborted: true }));
    req.on('close', () => { if (!req.complete) result({ aborted: true }); });
  });
}

export function sendJson(res, status, body, headers = {}) {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendEmpty(res, status) {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-length': 0 });
  res.end();
}
