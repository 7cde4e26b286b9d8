/**
 * The whole reference system over HTTP: each role on its own port, durable stores under one data
 * directory, keys created on first start and kept there. Used by `failclosed serve` and by tests
 * that need a real process to kill.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { fromHex, toHex } from '../model/profile/encoding.ts';
import type { GatewayEvent, IdentityKey, TrustedKey } from '../model/profile/messages.ts';
import type { KeyId, KeyPair } from '../model/profile/signing.ts';
import { keyPairFromSeed, publicKeyToText } from '../model/profile/signing.ts';
import { FileAuditLog } from './audit/file-audit-log.ts';
import { FileAuditSpool } from './audit/audit-spool.ts';
import { OffsetClock, systemClock } from './clock.ts';
import { ControlPlane } from './control-plane/control-plane.ts';
import { parsePolicy } from './control-plane/policy.ts';
import type { EffectSink } from './execution-layer/effect-sink.ts';
import { FileEffectSink, UrlEffectSink } from './execution-layer/effect-sink.ts';
import { ExecutionLayer } from './execution-layer/execution-layer.ts';
import type { GateDependencies } from './gate/gate.ts';
import { Gate } from './gate/gate.ts';
import type { ReferenceVariation } from './in-process-target.ts';
import { createControlPlaneServer } from './http/control-plane-server.ts';
import { createExecutionLayerServer } from './http/execution-layer-server.ts';
import { createGateServer } from './http/gate-server.ts';
import { HttpControlPlaneLink, HttpExecutionLink } from './http/http-links.ts';
import { closeServer, listen } from './http/http-util.ts';
import { IdentityRegistryFile } from './identity-registry.ts';
import type { ServeConfig } from './serve-config.ts';
import { FileJournalClaimStore } from './stores/file-journal-claim-store.ts';
import { FaultyClaimStore } from './stores/faulty-claim-store.ts';
import type { ClaimStore } from './stores/claim-store.ts';
import { PostgresAuditLog, PostgresClaimStore, PostgresDatabase, PostgresEffectSink, redactedUrl, resetPostgres } from './stores/postgres/postgres-stores.ts';
import { FaultyAuditLog } from './audit/faulty-audit-log.ts';
import type { ExecutionLinkFault } from './gate/faulty-execution-link.ts';
import { EXECUTION_LINK_FAULTS, FaultyExecutionLink, isExecutionLinkFault } from './gate/faulty-execution-link.ts';
import type { ControlChannel } from './http/control-channel.ts';
import type { RoleSpec } from './role-process.ts';
import { RoleProcess } from './role-process.ts';

export interface RunningReference {
  urls: { gate: string; controlPlane: string | null; executionLayer: string | null };
  controlPlaneKeys: TrustedKey[];
  identityKeys: readonly IdentityKey[];
  paths: { dataDir: string; audit: string; spool: string; nonces: string; approvals: string; effects: string | null; policy: string | null; identityKeys: string; demoClientKey: string | null };
  /** the Gate serving now (a restart through the control channel replaces it) */
  readonly gate: Gate;
  close(): Promise<void>;
}

interface StoredKey {
  key_id: KeyId;
  seed_hex: string;
}

/** A key kept in the data directory (created with mode 0600 on first use). */
function persistentKey(path: string, keyId: KeyId): KeyPair {
  if (!existsSync(path)) writeFileSync(path, `${JSON.stringify({ key_id: keyId, seed_hex: toHex(randomBytes(32)) }, null, 2)}\n`, { mode: 0o600 });
  const stored = JSON.parse(readFileSync(path, 'utf8')) as StoredKey;
  const seed = fromHex(stored.seed_hex);
  if (!seed || seed.length !== 32) throw new Error(`${path}: seed_hex must be 32 bytes of hex`);
  return keyPairFromSeed(stored.key_id, seed);
}

const DEMO_POLICY = { rules: [{ identity: 'demo', action: 'demo.echo', effect: 'allow' }] };

/**
 * Everything that lives on the data directory, rebuildable: a restart reopens it as after a crash
 * (in-memory state gone, durable state back), a reset starts it empty. The servers look the
 * current Gate and Execution Layer up on every request.
 */
class ReferenceRuntime {
  gate!: Gate;
  executionLayer: ExecutionLayer | undefined;
  audit!: FaultyAuditLog;
  nonces!: FaultyClaimStore;
  readonly events: GatewayEvent[] = [];
  private closers: (() => Promise<void>)[] = [];
  private nonceMode: 'healthy' | 'unavailable' | 'unconfirmed' = 'healthy';
  private auditMode: 'healthy' | 'failing' = 'healthy';
  /** the Gate→Execution Layer faults it provides itself (when no harness proxy sits on that link) */
  private readonly linkFaults = new Set<ExecutionLinkFault>();

  constructor(
    private readonly config: ServeConfig,
    private readonly paths: RunningReference['paths'],
    private readonly trustedKeys: () => readonly TrustedKey[],
    private readonly identityKeys: () => readonly IdentityKey[],
    readonly clock: OffsetClock,
    /** where the Gate reaches its Execution Layer */
    private readonly executionUrl: () => string,
    private readonly variation: ServeVariation = {},
    /** whether the Gate's link to its Execution Layer takes the control channel's execution-* faults */
    readonly faultableLink = false,
  ) {}

  async open(): Promise<void> {
    const { config, paths, clock } = this;
    const closers: (() => Promise<void>)[] = [];
    try {
      // On PostgreSQL, one pool serves every store of this replica; a restart opens a new one.
      let db: PostgresDatabase | undefined;
      if (config.store.url) {
        const opened = await PostgresDatabase.open(config.store.url, { clock });
        closers.push(() => opened.close());
        db = opened;
      }
      this.db = db;
      if (!config.executionLayer.url && this.hostsExecutionLayer) {
        const approvals = db ? new PostgresClaimStore(db, 'approvals', clock) : await FileJournalClaimStore.open(paths.approvals, { clock, fsync: config.fsync, groupCommit: config.groupCommit });
        closers.push(() => approvals.close());
        const sink: EffectSink = config.effects.url
          ? new UrlEffectSink(config.effects.url)
          : db
            ? new PostgresEffectSink(db)
            : await FileEffectSink.open(paths.effects!, { groupCommit: config.groupCommit });
        closers.push(() => sink.close());
        const elOptions = { trustedKeys: [...this.trustedKeys()], approvals, sink, clock };
        this.executionLayer = this.variation.makeExecutionLayer ? this.variation.makeExecutionLayer(elOptions) : new ExecutionLayer(elOptions);
      }
      let nonces: ClaimStore;
      if (db) {
        nonces = this.variation.postgresNonces ? this.variation.postgresNonces(db, clock) : new PostgresClaimStore(db, 'nonces', clock);
        const store = nonces;
        closers.push(() => store.close());
      } else {
        const journal = await FileJournalClaimStore.open(paths.nonces, { clock, fsync: config.fsync, groupCommit: config.groupCommit });
        closers.push(() => journal.close());
        nonces = journal;
      }
      this.nonces = new FaultyClaimStore(nonces, { mode: this.nonceMode });
      const audit = db ? await PostgresAuditLog.open(db, config.store.chain, { clock }) : await FileAuditLog.open(paths.audit, { clock, fsync: config.fsync, groupCommit: config.groupCommit });
      closers.push(() => audit.close());
      this.audit = new FaultyAuditLog(audit, { mode: this.auditMode });
      const spool = await FileAuditSpool.open(paths.spool, { fsync: config.fsync, groupCommit: config.groupCommit });
      closers.push(() => spool.close());
      const gateDeps: GateDependencies = {
        clock,
        settings: {
          acceptanceWindowSec: config.acceptanceWindowSec,
          replayWindowSec: config.replayWindowSec,
          controlPlaneDeadlineMs: config.controlPlaneDeadlineMs,
          executionDeadlineMs: config.executionDeadlineMs,
          maxBodyBytes: config.maxBodyBytes,
        },
        identityKeys: this.identityKeys,
        trustedKeys: this.trustedKeys,
        nonces: this.nonces,
        audit: this.audit,
        spool,
        controlPlane: new HttpControlPlaneLink(config.controlPlane.url ?? this.embeddedControlPlaneUrl!),
        executionLayer: this.faultableLink ? new FaultyExecutionLink(new HttpExecutionLink(this.executionUrl()), this.linkFaults) : new HttpExecutionLink(this.executionUrl()),
        // Bounded: the newest 10,000 events are enough for operator look-ups.
        onEvent: (event) => {
          this.events.push(event);
          if (this.events.length > 10_000) this.events.splice(0, this.events.length - 10_000);
        },
      };
      this.gate = this.variation.makeGate ? this.variation.makeGate(gateDeps) : new Gate(gateDeps);
      this.closers = closers;
    } catch (error) {
      await Promise.allSettled(closers.map((close) => close()));
      throw error;
    }
  }

  embeddedControlPlaneUrl: string | undefined;
  /** false when the embedded Execution Layer runs in a role process of its own (roleProcesses) */
  hostsExecutionLayer = true;
  /** the PostgreSQL database this generation's stores use, if any */
  private db: PostgresDatabase | undefined;

  async close(): Promise<void> {
    await Promise.allSettled(this.closers.map((close) => close()));
    this.closers = [];
  }

  /** As after a crash: nothing kept in memory survives, everything durable does. */
  async restart(): Promise<void> {
    this.gate.halt();
    // What the crashed generation was doing ends before its stores close: nothing of it acts later.
    await this.gate.drain();
    await this.close();
    await this.open();
  }

  /** Empty stores, empty audit log, no faults, no clock offset. */
  async reset(): Promise<void> {
    this.gate.halt();
    await this.gate.drain();
    // Shared state in PostgreSQL: every claim, approval and effect, and this replica's chain (the
    // harness resets every replica, one after the other, before it sends anything).
    if (this.db) await resetPostgres(this.db, this.config.store.chain);
    await this.close();
    for (const file of this.db ? [this.paths.spool] : [this.paths.nonces, this.paths.approvals, this.paths.audit, this.paths.spool, this.paths.effects]) {
      if (file) rmSync(file, { force: true });
    }
    this.nonceMode = 'healthy';
    this.auditMode = 'healthy';
    this.linkFaults.clear();
    this.clock.offsetMs = 0;
    this.events.length = 0;
    await this.open();
  }

  setFault(fault: string, active: boolean): void {
    if (fault === 'nonce-store-down') this.nonceMode = active ? 'unavailable' : 'healthy';
    else if (fault === 'nonce-store-unconfirmed') this.nonceMode = active ? 'unconfirmed' : 'healthy';
    else if (fault === 'audit-down') this.auditMode = active ? 'failing' : 'healthy';
    else if (this.faultableLink && isExecutionLinkFault(fault)) {
      if (active) this.linkFaults.add(fault);
      else this.linkFaults.delete(fault);
    } else throw new Error(`no fault ${fault}`);
    this.nonces.mode = this.nonceMode;
    this.audit.mode = this.auditMode;
  }
}

const CHANNEL_FAULTS = ['nonce-store-down', 'nonce-store-unconfirmed', 'audit-down'] as const;

/** How a planted-bug variant builds its Gate or Execution Layer (tests of the suite only). */
export type ServeVariation = Pick<ReferenceVariation, 'makeGate' | 'makeExecutionLayer' | 'postgresNonces'>;

export async function startReference(config: ServeConfig, variation: ServeVariation = {}): Promise<RunningReference> {
  mkdirSync(config.dataDir, { recursive: true });
  const paths: RunningReference['paths'] = {
    dataDir: config.dataDir,
    audit: join(config.dataDir, 'audit.ndjson'),
    spool: join(config.dataDir, 'audit-spool.ndjson'),
    nonces: join(config.dataDir, 'nonces.journal'),
    approvals: join(config.dataDir, 'approvals.journal'),
    effects: config.effects.url ? null : config.store.url ? 'PostgreSQL table effects' : (config.effects.file ?? join(config.dataDir, 'effects.ndjson')),
    policy: null,
    identityKeys: config.identityKeys ? '(inline)' : (config.identityKeysFile ?? join(config.dataDir, 'identity-keys.json')),
    demoClientKey: null,
  };
  if (config.store.url) {
    const where = redactedUrl(config.store.url);
    paths.audit = `${where} (chain "${config.store.chain}")`;
    paths.nonces = `${where} (nonce_claims)`;
    paths.approvals = `${where} (consumed_approvals)`;
  }

  let identityKeys: () => readonly IdentityKey[];
  if (config.identityKeys) {
    const inline = config.identityKeys;
    identityKeys = () => inline;
  } else {
    if (!config.identityKeysFile && !existsSync(paths.identityKeys)) {
      paths.demoClientKey = join(config.dataDir, 'demo-client-key.json');
      const demo = persistentKey(paths.demoClientKey, 'ed25519/demo-1');
      const registry = { keys: [{ key_id: demo.keyId, identity: 'demo', public_key: publicKeyToText(demo.publicKey), state: 'active' }] };
      writeFileSync(paths.identityKeys, `${JSON.stringify(registry, null, 2)}\n`);
    } else if (existsSync(join(config.dataDir, 'demo-client-key.json'))) {
      paths.demoClientKey = join(config.dataDir, 'demo-client-key.json');
    }
    const registry = new IdentityRegistryFile(paths.identityKeys);
    identityKeys = () => registry.current();
  }

  const servers: Server[] = [];
  const urls: RunningReference['urls'] = { gate: '', controlPlane: null, executionLayer: null };
  let trustedKeys: TrustedKey[] = config.controlPlane.trustedKeys ?? [];
  // Without FAILCLOSED_EXECUTION_LAYER_URL no harness proxy sits between the Gate and the
  // Execution Layer it hosts: with the control channel on, the gate provides the execution-* faults
  // on that link itself (CONTRACT.md section 9).
  const ownExecutionFaults = config.conformanceChannel && !config.executionLayer.url && !config.executionLayer.via;
  const runtime = new ReferenceRuntime(
    config,
    paths,
    () => trustedKeys,
    identityKeys,
    new OffsetClock(),
    () => config.executionLayer.url ?? config.executionLayer.via ?? urls.executionLayer!,
    variation,
    ownExecutionFaults,
  );
  const roleProcesses: RoleProcess[] = [];
  const closeRoleProcesses = () => Promise.all(roleProcesses.map((role) => role.close()));
  const inChildren = config.roleProcesses !== 'one';
  if (inChildren && variation.makeExecutionLayer) throw new Error(`roleProcesses "${config.roleProcesses}": a planted-bug Execution Layer exists only in the Gate's process`);
  try {
    const children: RoleSpec[] = [];
    if (config.controlPlane.url) {
      urls.controlPlane = config.controlPlane.url;
    } else {
      paths.policy = config.policyFile ?? join(config.dataDir, 'policy.json');
      if (!config.policyFile && !existsSync(paths.policy)) writeFileSync(paths.policy, `${JSON.stringify(DEMO_POLICY, null, 2)}\n`);
      const keyFile = join(config.dataDir, 'control-plane-key.json');
      const signingKey = persistentKey(keyFile, 'ed25519/control-plane-1');
      const policy = parsePolicy(readFileSync(paths.policy, 'utf8'));
      if (inChildren) {
        trustedKeys = [{ key_id: signingKey.keyId, public_key: publicKeyToText(signingKey.publicKey) }];
        children.push({ host: config.host, controlPlane: { port: config.ports.controlPlane, policyFile: paths.policy, keyFile, envelopeTtlSec: config.envelopeTtlSec, bodyLimit: bodyLimit(config) } });
      } else {
        // The Control Plane keeps honest time: only the Gate's side of the system is skewed in tests.
        const controlPlane = new ControlPlane({ policy, signingKeys: [signingKey], clock: systemClock, envelopeTtlSec: config.envelopeTtlSec });
        trustedKeys = controlPlane.publicKeys();
        const server = createControlPlaneServer(controlPlane, bodyLimit(config));
        servers.push(server);
        urls.controlPlane = await listen(server, config.host, config.ports.controlPlane);
      }
    }

    if (config.executionLayer.url) {
      urls.executionLayer = config.executionLayer.url;
    } else if (inChildren) {
      runtime.hostsExecutionLayer = false;
      const executionLayer: RoleSpec['executionLayer'] = {
        port: config.ports.executionLayer,
        trustedKeys,
        approvalsPath: paths.approvals,
        effects: { file: config.effects.url ? null : paths.effects, url: config.effects.url },
        fsync: config.fsync,
        groupCommit: config.groupCommit,
        bodyLimit: bodyLimit(config),
      };
      // "two": with the Control Plane (if embedded) in one child; "three": in a child of its own.
      if (config.roleProcesses === 'two' && children[0]) children[0].executionLayer = executionLayer;
      else children.push({ host: config.host, executionLayer });
    } else {
      const server = createExecutionLayerServer(() => runtime.executionLayer!, bodyLimit(config));
      servers.push(server);
      urls.executionLayer = await listen(server, config.host, config.ports.executionLayer);
    }

    const started = await Promise.allSettled(children.map((spec) => RoleProcess.start(spec)));
    for (const result of started) if (result.status === 'fulfilled') roleProcesses.push(result.value);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    for (const role of roleProcesses) {
      urls.controlPlane = role.urls.controlPlane ?? urls.controlPlane;
      urls.executionLayer = role.urls.executionLayer ?? urls.executionLayer;
    }
    if (!config.controlPlane.url) runtime.embeddedControlPlaneUrl = urls.controlPlane!;

    await runtime.open();
    const faults = [...CHANNEL_FAULTS, ...(ownExecutionFaults ? EXECUTION_LINK_FAULTS : [])];
    const channel: ControlChannel | undefined = config.conformanceChannel
      ? {
          capabilities: [...faults, 'clock-offset', 'crash-restart', 'reset', 'audit-export', ...(config.executionLayer.url ? [] : ['direct-execution'])],
          faults,
          ...(config.executionLayer.url ? {} : { executionLayerUrl: urls.executionLayer! }),
          reset: () => runtime.reset(),
          restart: () => runtime.restart(),
          setFault: async (fault, active) => runtime.setFault(fault, active),
          setClockOffset: async (offsetMs) => {
            runtime.clock.offsetMs = offsetMs;
          },
        }
      : undefined;
    const gateServer = createGateServer(runtime, channel);
    servers.push(gateServer);
    urls.gate = await listen(gateServer, config.host, config.ports.gate);

    return {
      urls,
      controlPlaneKeys: trustedKeys,
      identityKeys: identityKeys(),
      paths,
      get gate() {
        return runtime.gate;
      },
      async close() {
        await Promise.all(servers.map(closeServer));
        await runtime.close();
        await closeRoleProcesses();
      },
    };
  } catch (error) {
    await Promise.all(servers.map(closeServer));
    await runtime.close();
    await closeRoleProcesses();
    throw error;
  }
}

/** The Control Plane and Execution Layer see a request's parameters plus an envelope. */
function bodyLimit(config: ServeConfig): number {
  return Math.max(256 * 1024, 2 * config.maxBodyBytes + 4096);
}
