/**
 * The optional conformance control channel of the contract (conformance/contract/CONTRACT.md):
 * a test harness resets the system, switches faults, skews the clock and restarts it. Enabled only
 * by configuration — it can wipe every store, so it never runs in production.
 *
 *   GET  /failclosed/v1/hello     {protocol, capabilities, execution_layer_url?}
 *   POST /failclosed/v1/reset     fresh empty stores and audit log, no faults, no clock offset → 204
 *   POST /failclosed/v1/fault     {fault, active} → 204 (400 for a fault not offered)
 *   POST /failclosed/v1/clock     {offset_ms} → 204
 *   POST /failclosed/v1/restart   as after a crash: drop all that is not durable, start again → 204
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseStrictJson } from '../../model/profile/canonical-json.ts';
import { readBody, sendJson } from './http-util.ts';

export const CONTROL_PROTOCOL = 'failclosed-control/1';

export interface ControlChannel {
  capabilities: readonly string[];
  faults: readonly string[];
  executionLayerUrl?: string;
  reset(): Promise<void>;
  setFault(fault: string, active: boolean): Promise<void>;
  setClockOffset(offsetMs: number): Promise<void>;
  restart(): Promise<void>;
}

const done = (res: ServerResponse) => {
  res.writeHead(204);
  res.end();
};

/** Handles a control-channel route; false when the path is not one. */
export async function handleControlChannel(req: IncomingMessage, res: ServerResponse, path: string, channel: ControlChannel): Promise<boolean> {
  if (!path.startsWith('/failclosed/v1/')) return false;
  const route = `${req.method} ${path}`;
  if (route === 'GET /failclosed/v1/hello') {
    sendJson(res, 200, { protocol: CONTROL_PROTOCOL, capabilities: channel.capabilities, ...(channel.executionLayerUrl ? { execution_layer_url: channel.executionLayerUrl } : {}) });
    return true;
  }
  const body = await readBody(req, 4096);
  let value: Record<string, unknown> = {};
  try {
    const parsed = body.bytes && body.bytes.length > 0 ? parseStrictJson(body.bytes) : {};
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    value = parsed;
  } catch (error) {
    sendJson(res, 400, { error: `the body is not a JSON object: ${(error as Error).message}` });
    return true;
  }
  switch (route) {
    case 'POST /failclosed/v1/reset':
      await channel.reset();
      done(res);
      return true;
    case 'POST /failclosed/v1/restart':
      await channel.restart();
      done(res);
      return true;
    case 'POST /failclosed/v1/clock':
      if (typeof value.offset_ms !== 'number' || !Number.isSafeInteger(value.offset_ms)) {
        sendJson(res, 400, { error: 'offset_ms must be an integer' });
        return true;
      }
      await channel.setClockOffset(value.offset_ms);
      done(res);
      return true;
    case 'POST /failclosed/v1/fault':
      if (typeof value.fault !== 'string' || !channel.faults.includes(value.fault) || typeof value.active !== 'boolean') {
        sendJson(res, 400, { error: `fault must be one of ${channel.faults.join(', ')} and active a boolean` });
        return true;
      }
      await channel.setFault(value.fault, value.active);
      done(res);
      return true;
    default:
      sendJson(res, 404, { error: `no control route ${route}` });
      return true;
  }
}
