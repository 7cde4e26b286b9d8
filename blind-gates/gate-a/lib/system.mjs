// One generation of the running system: clock, faults, stores, Gate and Execution Layer over one
// data directory. A restart (crash) or a reset closes the generation and opens a new one: nothing
// in memory survives, only what the stores made durable (or nothing at all, after a reset).
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { NonceStore, ApprovalStore } from './stores.mjs';
import { AuditLog } from './audit-log.mjs';
import { Gate } from './gate.mjs';
import { ExecutionLayer } from './execution-layer.mjs';
import { IdentityRegistry, trustedKeyMap } from './request-checks.mjs';
import { fsyncDir } from './durable-file.mjs';
import { defect } from './defects.mjs';

const MAX_EVENTS = 100_000;
const DATA_FILES = ['nonces.log', 'approvals.log', 'audit.ndjson', 'audit-outbox.ndjson'];

/** The system clock: real time + the conformance offset (0 in production). */
export class Clock {
  constructor() { this.offsetMs = 0; }
  nowMs() { return Date.now() + this.offsetMs; }
  nowSec() {
    if (defect('clock-rounding')) return Math.round(this.nowMs() / 1000); // DEFECT
    return Math.floor(this.nowMs() / 1000);
  }
}

export class System {
  static async open(config, { executionUrl, log }) {
    const clock = new Clock();
    const faults = new Set();
    const nonces = await NonceStore.open(config.dataDir, clock, faults);
    const approvals = await ApprovalStore.open(config.dataDir);
    const audit = await AuditLog.open(config.dataDir, faults);
    const sys = new System({ config, clock, faults, nonces, approvals, audit, executionUrl, log });
    await audit.flush(); // finals that waited before a crash
    return sys;
  }

  constructor({ config, clock, faults, nonces, approvals, audit, executionUrl, log }) {
    Object.assign(this, { config, clock, faults, nonces, approvals, audit });
    this.events = [];
    this.events.push = (...e) => { // bounded: events are for operators, not evidence
      Array.prototype.push.apply(this.events, e);
      if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
      return this.events.length;
    };
    const registry = new IdentityRegistry(config.identityKeys);
    const trustedKeys = trustedKeyMap(config.controlPlaneKeys);
    this.gate = new Gate({ config, clock, faults, nonces, audit, events: this.events, registry, trustedKeys, executionUrl, log });
    this.executionLayer = new ExecutionLayer({ config, clock, approvals, trustedKeys, log });
    this.inflight = new Set(); // sockets of requests being handled by this generation
  }

  setFault(name, active) {
    if (active) this.faults.add(name);
    else {
      this.faults.delete(name);
      if (name === 'audit-down') this.audit.flush();
    }
  }

  /** Stop this generation: no new side effect starts, in-flight store writes settle. */
  async close() {
    this.gate.closed = true;
    this.executionLayer.closed = true;
    await Promise.all([this.nonces.close(), this.approvals.close(), this.audit.close()]);
  }

  /** Remove all durable state (reset). Only while no generation is open. */
  static async wipe(dataDir) {
    for (const f of DATA_FILES) await rm(path.join(dataDir, f), { force: true });
    await fsyncDir(dataDir);
  }
}
