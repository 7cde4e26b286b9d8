/** Small pieces shared by the harness's network services. */
import type { ServerResponse } from 'node:http';

/** The longest any harness service stays silent on purpose before it hangs up. */
export const SILENCE_LIMIT_MS = 30_000;

/**
 * Aborts when the client goes away before its answer was sent (it gave up, or the socket was
 * destroyed by us). An answer that was sent completely does not count as leaving.
 */
export function clientLeft(res: ServerResponse): AbortSignal {
  const left = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) left.abort();
  });
  // A write racing a hang-up must not crash the process: the client is gone either way.
  res.on('error', () => undefined);
  return left.signal;
}

/** Answers nothing: waits until the client leaves or `ms` passes, then destroys the socket. */
export function holdSilently(res: ServerResponse, left: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (left.aborted) return resolve();
    const timer = setTimeout(() => {
      res.socket?.destroy();
      resolve();
    }, Math.max(0, ms));
    left.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/** Waits `ms`, or less if the client leaves first; resolves to whether the client is still there. */
export function sleepUnlessLeft(ms: number, left: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (left.aborted) return resolve(false);
    const timer = setTimeout(() => resolve(!left.aborted), ms);
    left.addEventListener('abort', () => (clearTimeout(timer), resolve(false)), { once: true });
  });
}

/** Sends bytes as they are, unless the client has already left. */
export function sendBytes(res: ServerResponse, status: number, bytes: Uint8Array | string, type: string): void {
  if (res.headersSent || res.destroyed) return;
  const body = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  res.writeHead(status, { 'content-type': type, 'content-length': body.byteLength });
  res.end(body);
}

export const isJsonObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
