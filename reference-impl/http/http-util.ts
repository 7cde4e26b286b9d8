/** Small HTTP helpers shared by the reference servers. */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { Digest } from '../../model/profile/digest.ts';

export interface ReadBody {
  /** the body, or undefined when it was over the limit */
  bytes: Uint8Array | undefined;
  /** sha256 of every byte received, even past the limit */
  digest: Digest;
  size: number;
  /** the client sent more than the hard cap, or aborted: there is no one to answer */
  truncated: boolean;
}

/**
 * Reads a body, keeping at most `limit` bytes but hashing everything up to `hardCap`, so an
 * oversized request can still be audited under the hash of what its client sent.
 */
export function readBody(req: IncomingMessage, limit: number, hardCap = 64 * 1024 * 1024): Promise<ReadBody> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (truncated: boolean) => {
      if (settled) return;
      settled = true;
      resolve({ bytes: size <= limit ? new Uint8Array(Buffer.concat(chunks)) : undefined, digest: `sha256:${hash.digest('hex')}`, size, truncated });
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      hash.update(chunk);
      if (size <= limit) chunks.push(chunk);
      if (size > hardCap) {
        finish(true);
        req.destroy();
      }
    });
    req.on('end', () => finish(false));
    // A client that aborts mid-body still sent a request: it is refused and audited by what arrived,
    // never handed on as a (possibly complete-looking) body.
    req.on('error', () => {
      if (settled) return;
      settled = true;
      resolve({ bytes: undefined, digest: `sha256:${hash.digest('hex')}`, size, truncated: true });
    });
  });
}

/** A request's headers as one string per (lower-case) name, repeated ones joined by ", ". */
export function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Segments of letters, digits, "_" and "-": a path the URL parser returns unchanged. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_-]+)*\/?$/;

/**
 * The path of a request's target, as `new URL(target, base).pathname` gives it; a plain path is
 * taken as it is (parsing a URL cost each server more per request than routing it).
 */
export function pathnameOf(target: string | undefined, base: string): string {
  const raw = target ?? '/';
  return raw.startsWith('/') && PLAIN_PATH.test(raw) ? raw : new URL(raw, base).pathname;
}

/** Listens on host:port (port 0 picks a free one) and resolves to the base URL. */
export function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no TCP address'));
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve(`http://${shownHost}:${address.port}`);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
