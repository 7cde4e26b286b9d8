// Gate B: one process hosting two modules with an HTTP boundary between them —
//   the Execution Layer (execution-layer/), with its approval store, on its own port;
//   the Gate (gate/), with its nonce store and audit log, on FAILCLOSED_LISTEN_PORT,
//   which reaches the Execution Layer only through FAILCLOSED_EXECUTION_LAYER_URL (or its address).
// Prints "ready" once both serve and the audit chain is verified.
import { loadConfig, ConfigError } from './config.js';
import { NonceStore } from './storage/nonce-store.js';
import { ApprovalStore } from './storage/approval-store.js';
import { AuditLog } from './storage/audit-log.js';
import { Executor } from './execution-layer/executor.js';
import { createExecutionLayerServer } from './execution-layer/server.js';
import { Pipeline } from './gate/pipeline.js';
import { ControlPlaneClient } from './gate/control-plane-client.js';
import { ExecutionClient } from './gate/execution-client.js';
import { Events } from './gate/events.js';
import { createGateServer } from './gate/server.js';
import { activeDefects, unknownDefects } from './defects.js';

const log = (msg) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve(server.address().port);
    });
  });
}

function hostForUrl(host) {
  return host.includes(':') ? `[${host}]` : host;
}

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      log(`refusing to start: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  if (unknownDefects().length > 0) {
    log(`refusing to start: unknown GATE_DEFECT ${unknownDefects().join(',')}`);
    process.exit(1);
  }
  if (activeDefects().length > 0) log(`WARNING: planted defects active: ${activeDefects().join(',')}`);
  if (config.conformanceChannelRequested) {
    log('FAILCLOSED_CONFORMANCE_CHANNEL=1 ignored: this gate has no conformance control channel');
  }

  const [nonces, approvals, audit] = await Promise.all([
    NonceStore.open(config.dataDir, config.windowSec),
    ApprovalStore.open(config.dataDir),
    AuditLog.open(config.dataDir),
  ]);

  // Execution Layer
  const executor = new Executor({ trustedKeys: config.trustedKeys, effectSinkUrl: config.effectSinkUrl, approvals, log });
  const elServer = createExecutionLayerServer(executor);
  const elPort = await listen(elServer, config.executionLayerListenPort ?? 0, config.listenHost);
  const elUrl = config.executionLayerUrl ?? `http://${hostForUrl(config.listenHost)}:${elPort}`;

  // Gate
  let ready = false;
  const events = new Events();
  const pipeline = new Pipeline({
    config,
    nonces,
    audit,
    events,
    controlPlane: new ControlPlaneClient({ url: config.controlPlaneUrl, deadlineMs: config.controlPlaneDeadlineMs }),
    execution: new ExecutionClient({ url: elUrl, deadlineMs: config.executionDeadlineMs }),
    log,
  });
  const gateServer = createGateServer({ pipeline, audit, events, isReady: () => ready, log });
  const gatePort = await listen(gateServer, config.listenPort, config.listenHost);
  ready = true;
  log(`gate on ${config.listenHost}:${gatePort}, execution layer on ${config.listenHost}:${elPort}, gate calls it at ${elUrl}; ` +
    `data in ${config.dataDir}; ${audit.records.length} audit records verified`);
  process.stdout.write('ready\n');

  const shutdown = async (signal) => {
    log(`${signal}: shutting down`);
    ready = false;
    gateServer.close();
    elServer.close();
    gateServer.closeAllConnections?.();
    elServer.closeAllConnections?.();
    await audit.close().catch(() => {});
    await nonces.close().catch(() => {});
    await approvals.close().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  log(`refusing to start: ${err.stack ?? err}`);
  process.exit(1);
});
