/**
 * The Gate over HTTP.
 *   POST /v1/requests   a signed client request → 200 {status:"executed",…} or 403 {status:"denied",code,…}
 *   GET  /v1/audit      the audit export (JSON array; ?format=ndjson for one record per line)
 *   GET  /v1/events     gateway events (accepted / completed / failed) keyed by request id
 *   GET  /healthz       200 when the Gate can serve
 *   /failclosed/v1/…    the optional conformance control channel (only when configured)
 * Every request to /v1/requests — oversized and malformed ones included — is answered with a code
 * and audited.
 */
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { GatewayEvent } from '../../model/profile/messages.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { exportJson, exportNdjson } from '../audit/audit-log.ts';
import type { Gate, GateAnswer } from '../gate/gate.ts';
import type { ControlChannel } from './control-channel.ts';
import { handleControlChannel } from './control-channel.ts';
import { flatHeaders, pathnameOf, readBody, sendJson, sendText } from './http-util.ts';

/** What the server serves; looked up per request, since a restart replaces the Gate. */
export interface GateRuntime {
  readonly gate: Gate;
  readonly audit: AuditLog;
  readonly events: readonly GatewayEvent[];
}

export function createGateServer(runtime: GateRuntime, channel?: ControlChannel): Server {
  /** client requests being handled: a restart drops them, as a crash would (no answer, no later record) */
  const inFlight = new Set<ServerResponse>();
  const crashing: ControlChannel | undefined = channel && {
    ...channel,
    restart: async () => {
      for (const res of inFlight) res.socket?.destroy();
      inFlight.clear();
      await channel.restart();
    },
  };
  return createServer(async (req, res) => {
    try {
      const pathname = pathnameOf(req.url, 'http://gate');
      const { gate, audit, events } = runtime;
      if (crashing && (await handleControlChannel(req, res, pathname, crashing))) return;
      if (req.method === 'POST' && pathname === '/v1/requests') {
        inFlight.add(res);
        try {
          const body = await readBody(req, gate.settings.maxBodyBytes);
          const answer: GateAnswer = body.bytes ? await gate.handle(body.bytes, { headers: flatHeaders(req) }) : await gate.refuseUnread(body.digest);
          // A Gate halted meanwhile (a crash or restart began) is a dead process: it sends no answer,
          // whatever it concluded — a request that reached it mid-restart was denied by a Gate whose
          // audit log had closed, and answering that denial would be a denial without a record.
          if (gate.isHalted) res.socket?.destroy();
          else if (!body.truncated && inFlight.has(res)) sendJson(res, answer.status === 'executed' ? 200 : 403, answer);
        } finally {
          inFlight.delete(res);
        }
        return;
      }
      if (req.method === 'GET' && pathname === '/healthz') return sendJson(res, 200, { status: 'ok', role: 'gate' });
      if (req.method === 'GET' && pathname === '/v1/audit') {
        // Records waiting for the log go out first; while some still wait, the export is not whole.
        if (!(await gate.settle())) return sendJson(res, 503, { error: 'audit records are waiting for the audit log; try again' });
        const records = await audit.records();
        return new URL(req.url ?? '/', 'http://gate').searchParams.get('format') === 'ndjson'
          ? sendText(res, 200, exportNdjson(records), 'application/x-ndjson')
          : sendText(res, 200, exportJson(records), 'application/json');
      }
      if (req.method === 'GET' && pathname === '/v1/events') return sendJson(res, 200, events);
      sendJson(res, 404, { error: `no route ${req.method} ${pathname}` });
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: (error as Error).message });
    }
  });
}
