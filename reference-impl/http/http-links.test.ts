import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkError } from '../gate/links.ts';
import { HttpControlPlaneLink, HttpExecutionLink } from './http-links.ts';
import { closeServer, listen } from './http-util.ts';

const QUESTION = { request_id: 'req-1', identity: 'alice', action: 'deploy', parameters: {}, parameters_digest: `sha256:${'0'.repeat(64)}` };
const CALL = { envelope: {}, request_id: 'req-1', identity: 'alice', action: 'deploy', parameters: {} };

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => closeServer(server)));
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  return listen(server, '127.0.0.1', 0);
}

async function kindOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'answered';
  } catch (error) {
    return error instanceof LinkError ? error.kind : `not a LinkError: ${String(error)}`;
  }
}

describe('the Gate\'s HTTP links', () => {
  it('hand back the body of a 200 and post the canonical question', async () => {
    let received = '';
    const url = await serve((req, res) => {
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (received += chunk));
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"decision":"deny"}'));
    });
    const body = await new HttpControlPlaneLink(url).ask(QUESTION as never, AbortSignal.timeout(2_000));
    expect(new TextDecoder().decode(body)).toBe('{"decision":"deny"}');
    expect(received).toBe('{"action":"deploy","identity":"alice","parameters":{},"parameters_digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","request_id":"req-1"}');
  });

  it('call a refused connection unreachable (nothing arrived)', async () => {
    const url = await serve(() => undefined);
    await closeServer(servers.pop()!);
    expect(await kindOf(new HttpExecutionLink(url).execute(CALL as never, AbortSignal.timeout(2_000)))).toBe('unreachable');
  });

  it('call a missed deadline a timeout (it may have arrived)', async () => {
    const url = await serve(() => undefined); // never answers
    expect(await kindOf(new HttpExecutionLink(url).execute(CALL as never, AbortSignal.timeout(50)))).toBe('timeout');
  });

  it('call an answer cut short a timeout, never an answer', async () => {
    const url = await serve((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"status":"exec', () => res.destroy());
    });
    expect(await kindOf(new HttpExecutionLink(url).execute(CALL as never, AbortSignal.timeout(2_000)))).toBe('timeout');
  });

  it('take a 5xx of the Control Plane for unreachable and a redirect for malformed, never following it', async () => {
    let redirectedTo = 0;
    const target = await serve((req, res) => {
      redirectedTo += 1;
      req.resume();
      res.writeHead(200).end('{"decision":"allow"}');
    });
    const unavailable = await serve((req, res) => (req.resume(), res.writeHead(503).end()));
    const redirecting = await serve((req, res) => (req.resume(), res.writeHead(307, { location: `${target}/v1/decide` }).end()));
    expect(await kindOf(new HttpControlPlaneLink(unavailable).ask(QUESTION as never, AbortSignal.timeout(2_000)))).toBe('unreachable');
    expect(await kindOf(new HttpControlPlaneLink(redirecting).ask(QUESTION as never, AbortSignal.timeout(2_000)))).toBe('malformed');
    expect(redirectedTo).toBe(0);
  });
});
