// Gateway events (GET /v1/events): accepted / completed / failed, keyed by request id and trace
// id. Operational telemetry, kept in memory (bounded), not part of the durable evidence.
import { nowMs } from '../clock.js';

const MAX_EVENTS = 100_000;

export class Events {
  constructor() {
    this.list = [];
  }

  emit(ctx, event, code) {
    const e = { request_id: ctx.request_id, trace_id: ctx.trace_id, event, timestamp_ms: nowMs() };
    if (code !== undefined) e.code = code;
    this.list.push(e);
    if (this.list.length > MAX_EVENTS) this.list.splice(0, this.list.length - MAX_EVENTS);
  }

  all() {
    return this.list.slice();
  }
}
