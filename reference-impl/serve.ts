/**
 * The whole reference system over HTTP: each role on its own port, durable stores under one data
 * directory, keys created on first start and kept there. Used by `failclosed serve` and by tests
 * that need a real process to kill.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { fromHex, toHex } from '../model/profile/encoding.ts';
import type { GatewayEvent, IdentityKey, TrustedKey } from '../model/profile/messages.ts';
import type { KeyId, KeyPair } from '../model/profile/signing.ts';
import { keyPairFromSeed, publicKeyToText } from '../model/profile/signing.ts';
import { FileAuditLog } from './audit/file-audit-log.ts';
import { FileAuditSpool } from './audit/audit-spool.ts';
import { systemClock } from './clock.ts';
import { ControlPlane } from './control-plane/control-plane.ts';
import { parsePolicy } from './control-plane/policy.ts';
import type { EffectSink } from './execution-layer/effect-sink.ts';
import { FileEffectSink, UrlEffectSink } from './execution-layer/effect-sink.ts';
import { ExecutionLayer } from './execution-layer/execution-layer.ts';
import { Gate } from './gate/gate.ts';
import { createControlPlaneServer } from './http/control-plane-server.ts';
import { createExecutionLayerServer } from './http/execution-layer-server.ts';
import { createGateServer } from './http/gate-server.ts';
import { HttpControlPlaneLink, HttpExecutionLink } from './http/http-links.ts';
import { closeServer, listen } from './http/http-util.ts';
import { IdentityRegistryFile } from './identity-registry.ts';
import type { ServeConfig } from './serve-config.ts';
import { FileJournalClaimStore } from './stores/file-journal-claim-store.ts';

export interface RunningReference {
  urls: { gate: string; controlPlane: string | null; executionLayer: string | null };
  controlPlaneKeys: TrustedKey[];
  identityKeys: readonly IdentityKey[];
  paths: { dataDir: string; audit: string; nonces: string; approvals: string; effects: string | null; policy: string | null; identityKeys: string; demoClientKey: string | null };
  gate: Gate;
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

export async function startReference(config: ServeConfig): Promise<RunningReference> {
  mkdirSync(config.dataDir, { recursive: true });
  const clock = systemClock;
  const paths: RunningReference['paths'] = {
    dataDir: config.dataDir,
    audit: join(config.dataDir, 'audit.ndjson'),
    nonces: join(config.dataDir, 'nonces.journal'),
    approvals: join(config.dataDir, 'approvals.journal'),
    effects: config.effects.url ? null : (config.effects.file ?? join(config.dataDir, 'effects.ndjson')),
    policy: null,
    identityKeys: config.identityKeysFile ?? join(config.dataDir, 'identity-keys.json'),
    demoClientKey: null,
  };

  if (!config.identityKeysFile && !existsSync(paths.identityKeys)) {
    paths.demoClientKey = join(config.dataDir, 'demo-client-key.json');
    const demo = persistentKey(paths.demoClientKey, 'ed25519/demo-1');
    const registry = { keys: [{ key_id: demo.keyId, identity: 'demo', public_key: publicKeyToText(demo.publicKey), state: 'active' }] };
    writeFileSync(paths.identityKeys, `${JSON.stringify(registry, null, 2)}\n`);
  } else if (existsSync(join(config.dataDir, 'demo-client-key.json'))) {
    paths.demoClientKey = join(config.dataDir, 'demo-client-key.json');
  }
  const registry = new IdentityRegistryFile(paths.identityKeys);

  // The Control Plane and Execution Layer see a request's parameters plus an envelope.
  const bodyLimit = Math.max(256 * 1024, 2 * config.maxBodyBytes + 4096);
  const servers: Server[] = [];
  const closers: (() => Promise<void>)[] = [];
  const urls: RunningReference['urls'] = { gate: '', controlPlane: null, executionLayer: null };
  try {
    let trustedKeys: TrustedKey[];
    if (config.controlPlane.url) {
      trustedKeys = config.controlPlane.trustedKeys ?? [];
      urls.controlPlane = config.controlPlane.url;
    } else {
      paths.policy = config.policyFile ?? join(config.dataDir, 'policy.json');
      if (!config.policyFile && !existsSync(paths.policy)) writeFileSync(paths.policy, `${JSON.stringify(DEMO_POLICY, null, 2)}\n`);
      const controlPlane = new ControlPlane({
        policy: parsePolicy(readFileSync(paths.policy, 'utf8')),
        signingKeys: [persistentKey(join(config.dataDir, 'control-plane-key.json'), 'ed25519/control-plane-1')],
        clock,
        envelopeTtlSec: config.envelopeTtlSec,
      });
      trustedKeys = controlPlane.publicKeys();
      const server = createControlPlaneServer(controlPlane, bodyLimit);
      servers.push(server);
      urls.controlPlane = await listen(server, config.host, config.ports.controlPlane);
    }

    if (config.executionLayer.url) {
      urls.executionLayer = config.executionLayer.url;
    } else {
      const approvals = await FileJournalClaimStore.open(paths.approvals, { clock, fsync: config.fsync });
      closers.push(() => approvals.close());
      const sink: EffectSink = config.effects.url ? new UrlEffectSink(config.effects.url) : await FileEffectSink.open(paths.effects!);
      closers.push(() => sink.close());
      const executionLayer = new ExecutionLayer({ trustedKeys, approvals, sink, clock });
      const server = createExecutionLayerServer(executionLayer, bodyLimit);
      servers.push(server);
      urls.executionLayer = await listen(server, config.host, config.ports.executionLayer);
    }

    const nonces = await FileJournalClaimStore.open(paths.nonces, { clock, fsync: config.fsync });
    closers.push(() => nonces.close());
    const audit = await FileAuditLog.open(paths.audit, { clock, fsync: config.fsync });
    closers.push(() => audit.close());
    const spool = await FileAuditSpool.open(join(config.dataDir, 'audit-spool.ndjson'), { fsync: config.fsync });
    closers.push(() => spool.close());
    const events: GatewayEvent[] = [];
    const gate = new Gate({
      clock,
      settings: {
        acceptanceWindowSec: config.acceptanceWindowSec,
        replayWindowSec: config.replayWindowSec,
        controlPlaneDeadlineMs: config.controlPlaneDeadlineMs,
        executionDeadlineMs: config.executionDeadlineMs,
        maxBodyBytes: config.maxBodyBytes,
      },
      identityKeys: () => registry.current(),
      trustedKeys: () => trustedKeys,
      nonces,
      audit,
      spool,
      controlPlane: new HttpControlPlaneLink(urls.controlPlane!),
      executionLayer: new HttpExecutionLink(urls.executionLayer!),
      // Bounded: the newest 10,000 events are enough for operator look-ups.
      onEvent: (event) => {
        events.push(event);
        if (events.length > 10_000) events.splice(0, events.length - 10_000);
      },
    });
    const gateServer = createGateServer(gate, audit, events);
    servers.push(gateServer);
    urls.gate = await listen(gateServer, config.host, config.ports.gate);

    return {
      urls,
      controlPlaneKeys: trustedKeys,
      identityKeys: registry.current(),
      paths,
      gate,
      async close() {
        await Promise.all(servers.map(closeServer));
        await Promise.allSettled(closers.map((close) => close()));
      },
    };
  } catch (error) {
    await Promise.all(servers.map(closeServer));
    await Promise.allSettled(closers.map((close) => close()));
    throw error;
  }
}
