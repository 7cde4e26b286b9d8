/**
 * A reverse proxy on loopback between a gate under test and one of its dependencies (an Execution
 * Layer or a Control Plane), whose mode the harness switches to inject network faults:
 *   pass                 forward, stream the answer back
 *   partition            the dependency is unreachable: connections are refused (nothing listens)
 *   delay                forward after `ms`
 *   blackhole            accept and never answer
 *   reset-after-forward  the dependency processes the request, the client's socket is reset instead
 *                        of answered (a lost confirmation)
 *   replace-after-forward  the dependency processes the request, the client gets another answer
 *                        made from the real one (a lost confirmation in another form)
 *   garble               answer 200 with garbage, forward nothing
 *   tamper               forward a rewritten JSON body (a man in the middle)
 *   late                 hold the request until the harness releases it (after the client was
 *                        answered — so after its deadline), then forward it whether or not the
 *                        client is still there, and reset the client instead of answering
 * Every answer carries `Connection: close`, so a client never holds a pooled connection into a
 * partition: its next request opens a new connection, which is refused — "unreachable", not a
 * reset that would read as "maybe it ran".
 */
import { createServer, request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalBytes, parseStrictJson } from '../../model/profile/canonical-json.ts';
import { listen, readBody } from '../../reference-impl/http/http-util.ts';
import type { LateRelease } from '../late-release.ts';
import { SILENCE_LIMIT_MS, clientLeft, holdSilently, sendBytes, sleepUnlessLeft } from './service-util.ts';

export type ProxyMode =
  | { kind: 'pass' }
  | { kind: 'partition' }
  | { kind: 'delay'; ms: number }
  | { kind: 'blackhole' }
  | { kind: 'reset-after-forward' }
  | { kind: 'replace-after-forward'; replace: (real: { status: number; body: Uint8Array }) => { status: number; contentType: string; body: Uint8Array } }
  | { kind: 'garble' }
  | { kind: 'tamper'; rewrite: (body: JsonValue) => JsonValue }
  | { kind: 'late'; release: LateRelease };

/** What the proxy saw pass: a JSON request's `envelope.approval_id` and `request_id` (when it has them). */
export interface ProxiedCall {
  approval_id?: string;
  request_id?: string;
  /** forwarded at once, held to be forwarded late, or never forwarded (garbled or blackholed) */
  delivery: 'now' | 'late' | 'never';
}

export interface FaultProxy {
  url: string;
  port: number;
  readonly mode: ProxyMode;
  /** resolves once the mode holds: after a partition starts nothing listens, after a heal it listens again */
  setMode(mode: ProxyMode): Promise<void>;
  close(): Promise<void>;
  /** requests sent on to the dependency */
  readonly forwarded: number;
  /**
   * The last request that reached the proxy, as its client sent it (before any rewrite): method,
   * path, end-to-end headers (no host, content-length or hop-by-hop ones) and body — the shape
   * of the Gate's real calls, which the harness replays to the dependency with bad contents.
   */
  readonly lastRequest: SeenRequest | undefined;
}

export interface SeenRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface FaultProxyOptions {
  /** base URL of the dependency (http only) */
  target: string;
  host?: string;
  port?: number;
  /** told of every request that reaches the proxy's handler (retries included; refused connections never do) */
  onCall?: (call: ProxiedCall) => void;
}

export const MAX_DELAY_MS = 30_000;
export const PROXY_BODY_LIMIT = 64 * 1024 * 1024;
/** What `garble` answers: almost an approval, but neither UTF-8 nor complete JSON. */
export const GARBLED_BODY: Uint8Array = Uint8Array.from([0xff, 0xfe, ...Buffer.from('{"status":"executed","decision":"allow","envelope":{', 'utf8')]);

const RELISTEN_ATTEMPTS = 20;
const RELISTEN_PAUSE_MS = 50;
const CLOSE_WAIT_MS = 5000;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(String(headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()));
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !named.has(name)) out[name] = value;
  }
  return out;
}

/** The end-to-end headers of a request, one string each, without what the transport sets per hop. */
function seenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(endToEnd(headers))) {
    if (name === 'host' || name === 'content-length' || value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

function checkMode(mode: ProxyMode): void {
  if (mode.kind === 'delay' && !(Number.isFinite(mode.ms) && mode.ms >= 0 && mode.ms <= MAX_DELAY_MS)) {
    throw new RangeError(`delay must be 0…${MAX_DELAY_MS} ms, got ${mode.ms}`);
  }
  if (mode.kind === 'tamper' && typeof mode.rewrite !== 'function') throw new TypeError('tamper needs a rewrite function');
  if (mode.kind === 'late' && typeof mode.release?.hold !== 'function') throw new TypeError('late needs the harness\'s LateRelease');
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The fields of a call the history records; nothing for a body that is not a JSON object. */
function callFields(bytes: Uint8Array): Pick<ProxiedCall, 'approval_id' | 'request_id'> {
  try {
    const value = parseStrictJson(bytes);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    const envelope = value.envelope;
    const approvalId = typeof envelope === 'object' && envelope !== null && !Array.isArray(envelope) ? envelope.approval_id : undefined;
    return {
      ...(typeof approvalId === 'string' ? { approval_id: approvalId } : {}),
      ...(typeof value.request_id === 'string' ? { request_id: value.request_id } : {}),
    };
  } catch {
    return {};
  }
}

/** Hangs up with a TCP reset (not a clean FIN): the client cannot read it as an answer. */
function reset(res: ServerResponse): void {
  const socket = res.socket;
  if (socket && !socket.destroyed) socket.resetAndDestroy();
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  if (target.protocol !== 'http:') throw new Error(`the fault proxy forwards to http only, not ${target.protocol}`);
  const prefix = target.pathname.replace(/\/+$/, '');
  const host = options.host ?? '127.0.0.1';

  let mode: ProxyMode = { kind: 'pass' };
  /** bumped when a partition starts or the proxy closes: what arrived before is never forwarded after */
  let epoch = 0;
  let forwarded = 0;
  let lastRequest: SeenRequest | undefined;
  let listening = false;
  let closed = false;
  let modeChange: Promise<void> = Promise.resolve();
  const sockets = new Set<Socket>();
  const upstreams = new Set<ClientRequest>();

  /** Sends `body` on to the dependency; `then` says what the client gets once it answered. */
  function forward(req: IncomingMessage, res: ServerResponse, body: Uint8Array, left: AbortSignal, then: 'answer' | 'reset' | Extract<ProxyMode, { kind: 'replace-after-forward' }>['replace']): Promise<void> {
    return new Promise((resolve) => {
      const headers = endToEnd(req.headers);
      headers.host = target.host;
      headers['content-length'] = body.byteLength;
      const upstream = httpRequest(
        // A fresh connection each time: the proxy keeps no state that a fault could leave stale.
        { hostname: target.hostname, port: target.port || 80, method: req.method, path: `${prefix}${req.url ?? '/'}`, headers, agent: false },
        (answer) => {
          if (then === 'reset' || left.aborted) {
            // Let the dependency finish, then hang up with a reset instead of its answer.
            answer.resume();
            answer.once('close', () => {
              if (then === 'reset') reset(res);
              resolve();
            });
            return;
          }
          if (res.headersSent || res.destroyed) return void (answer.resume(), resolve());
          if (typeof then === 'function') {
            // Read the real answer to the end, then send what is made of it instead.
            const chunks: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => chunks.push(chunk));
            answer.once('end', () => {
              const replaced = then({ status: answer.statusCode ?? 502, body: new Uint8Array(Buffer.concat(chunks)) });
              if (!res.headersSent && !res.destroyed) sendBytes(res, replaced.status, replaced.body, replaced.contentType);
              resolve();
            });
            answer.once('error', () => (reset(res), resolve()));
            return;
          }
          res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
          pipeline(answer, res, () => resolve());
        },
      );
      upstreams.add(upstream);
      upstream.once('close', () => upstreams.delete(upstream));
      upstream.once('finish', () => void (forwarded += 1));
      upstream.once('error', (error: NodeJS.ErrnoException) => {
        // Refused by the dependency: nothing arrived, and the proxy says so. Anything later: hang up.
        if (error.code === 'ECONNREFUSED' && then === 'answer') sendBytes(res, 502, 'the dependency refused the connection', 'text/plain');
        else reset(res);
        resolve();
      });
      upstream.end(body);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('connection', 'close');
    const current = mode;
    const arrived = epoch;
    const left = clientLeft(res);
    const body = await readBody(req, PROXY_BODY_LIMIT);
    if (body.truncated) return;
    if (!body.bytes) return sendBytes(res, 413, 'too large for the fault proxy', 'text/plain');
    lastRequest = { method: req.method ?? 'POST', path: req.url ?? '/', headers: seenHeaders(req.headers), body: body.bytes };
    const stillThere = () => !closed && epoch === arrived && !left.aborted;
    if (!stillThere()) return;
    if (current.kind !== 'partition') {
      const delivery = current.kind === 'late' ? 'late' : current.kind === 'garble' || current.kind === 'blackhole' ? 'never' : 'now';
      options.onCall?.({ ...callFields(body.bytes), delivery });
    }
    switch (current.kind) {
      case 'partition':
        // Not listening during a partition; a connection accepted just before it is cut, never served.
        res.socket?.destroy();
        return;
      case 'blackhole':
        return holdSilently(res, left, SILENCE_LIMIT_MS);
      case 'garble':
        return sendBytes(res, 200, GARBLED_BODY, 'application/json');
      case 'delay':
        if (!(await sleepUnlessLeft(current.ms, left)) || !stillThere()) return;
        return forward(req, res, body.bytes, left, 'answer');
      case 'pass':
        return forward(req, res, body.bytes, left, 'answer');
      case 'reset-after-forward':
        return forward(req, res, body.bytes, left, 'reset');
      case 'replace-after-forward':
        return forward(req, res, body.bytes, left, current.replace);
      case 'late': {
        // Delivered when released, whether or not the client still waits; never answered.
        const bytes = body.bytes;
        current.release.hold({
          what: 'Execution Layer call',
          // It goes to the dependency; the client never hears of it.
          deliver: async () => {
            if (!closed) await forward(req, res, bytes, left, 'reset');
            return false;
          },
        });
        return;
      }
      case 'tamper': {
        let parsed: JsonValue;
        try {
          parsed = parseStrictJson(body.bytes);
        } catch {
          // Not JSON: nothing to rewrite, so it goes on unchanged.
          return forward(req, res, body.bytes, left, 'answer');
        }
        return forward(req, res, canonicalBytes(current.rewrite(parsed)), left, 'answer');
      }
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.socket?.destroy());
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  /** Stops listening (new connections are refused) and cuts every open connection. */
  async function stopListening(): Promise<void> {
    if (!listening) return;
    listening = false;
    await new Promise<void>((resolve) => {
      // The listening socket closes at once; the callback confirms the cut connections are gone.
      // Bounded, so that a connection that will not die cannot hang the harness.
      const timer = setTimeout(resolve, CLOSE_WAIT_MS);
      server.close(() => (clearTimeout(timer), resolve()));
      for (const socket of sockets) socket.destroy();
    });
  }

  /** Listens again on the same port; retried briefly, since the port may be busy for a moment. */
  async function listenAgain(): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await listen(server, host, port);
        listening = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= RELISTEN_ATTEMPTS) throw error;
        await pause(RELISTEN_PAUSE_MS);
      }
    }
  }

  const url = await listen(server, host, options.port ?? 0);
  listening = true;
  const port = Number(new URL(url).port);

  return {
    url,
    port,
    get mode() {
      return mode;
    },
    get forwarded() {
      return forwarded;
    },
    get lastRequest() {
      return lastRequest;
    },
    setMode(next: ProxyMode): Promise<void> {
      checkMode(next);
      const change = modeChange.then(async () => {
        if (closed) throw new Error('the fault proxy is closed');
        const before = mode;
        mode = next;
        if (next.kind === 'partition') {
          epoch += 1;
          return stopListening();
        }
        if (!listening) {
          try {
            await listenAgain();
          } catch (error) {
            mode = before;
            throw error;
          }
        }
      });
      modeChange = change.catch(() => undefined);
      return change;
    },
    async close(): Promise<void> {
      if (closed) return modeChange;
      closed = true;
      epoch += 1;
      await modeChange;
      await stopListening();
      for (const socket of sockets) socket.destroy();
      for (const upstream of upstreams) upstream.destroy();
    },
  };
}
