/**
 * The Control Plane over HTTP.
 *   POST /v1/decide   a policy question → {"decision":"allow","envelope":{…}} or {"decision":"deny"}
 *   GET  /v1/keys     the public keys to trust
 *   GET  /healthz
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { ControlPlane } from '../control-plane/control-plane.ts';
import { pathnameOf, readBody, sendJson } from './http-util.ts';

/** A question or call carries a request's parameters: allow what the Gate allows, with room to spare. */
export const DEFAULT_BODY_LIMIT = 256 * 1024;

export function createControlPlaneServer(controlPlane: ControlPlane, limit = DEFAULT_BODY_LIMIT): Server {
  return createServer(async (req, res) => {
    try {
      const pathname = pathnameOf(req.url, 'http://control-plane');
      if (req.method === 'POST' && pathname === '/v1/decide') {
        const body = await readBody(req, limit);
        if (!body.bytes) return body.truncated ? undefined : sendJson(res, 200, { decision: 'deny', reason: 'question too large' });
        let question;
        try {
          question = parseStrictJson(body.bytes);
        } catch (error) {
          return sendJson(res, 200, { decision: 'deny', reason: `question is not strict JSON: ${(error as Error).message}` });
        }
        return sendJson(res, 200, controlPlane.decide(question));
      }
      if (req.method === 'GET' && pathname === '/v1/keys') return sendJson(res, 200, { keys: controlPlane.publicKeys() });
      if (req.method === 'GET' && pathname === '/healthz') return sendJson(res, 200, { status: 'ok', role: 'control-plane' });
      sendJson(res, 404, { error: `no route ${req.method} ${pathname}` });
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: (error as Error).message });
    }
  });
}
