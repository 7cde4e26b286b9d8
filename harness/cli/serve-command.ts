/** `failclosed serve`: the reference system over HTTP, until SIGINT or SIGTERM. */
import { ConfigError, loadServeConfig } from '../../reference-impl/serve-config.ts';
import { startReference } from '../../reference-impl/serve.ts';
import { appliesOverHttp, whyOnlyInProcess } from '../../reference-impl/in-process-target.ts';
import { listenProblem } from '../http-harness.ts';
import type { CommandSpec } from './command.ts';

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'run the reference Gate, Control Plane and Execution Layer over HTTP',
  usage: 'failclosed serve [--config FILE] [--store postgres://…]',
  details: [
    '--config FILE   a JSON configuration (every field optional); FAILCLOSED_* environment',
    '                variables of the contract (conformance/contract/CONTRACT.md) override it.',
    '                Defaults: loopback only, gate :8700, control plane :8701, execution layer',
    '                :8702, a default-deny policy with one demo rule. See reference-impl/README.md.',
    '--store URL     where the durable state lives: a postgres:// URL (or FAILCLOSED_STORE_URL) puts',
    '                nonce claims, approvals, the audit log and effects in that database, so that',
    '                N replicas of `serve` share them (each writes its own audit chain, named by',
    '                FAILCLOSED_AUDIT_CHAIN, default "gate"); "file" (the default): files in the data',
    '                folder, one process.',
    '',
    'Data: the durable state (nonce and approval journals, lock files, audit log, effects, keys)',
    "lives in ./failclosed-data, in the current directory, unless FAILCLOSED_DATA_DIR or the file's",
    "dataDir (relative to the file) names another. It is a live gate's state: keep it out of version",
    "control and packages (failclosed's .gitignore, .dockerignore and package files leave it out).",
    '',
    '--variant ID    serve a planted-bug variant instead (to test the suite over HTTP; never for use)',
    'Prints its endpoints, key ids and where audit and effects go; stops cleanly on SIGINT/SIGTERM.',
    'Exit status: 0 after a clean stop, 2 on a usage or configuration error, 1 if it cannot start.',
  ],
  options: { config: { type: 'string' }, variant: { type: 'string' }, store: { type: 'string' } },
  async run(values, io) {
    let config;
    try {
      const env = typeof values.store === 'string' ? { ...process.env, FAILCLOSED_STORE_URL: values.store } : process.env;
      config = loadServeConfig(values.config as string | undefined, env);
    } catch (error) {
      if (error instanceof ConfigError) return io.fail(`bad configuration: ${error.message}`, 'correct it (the fields are in reference-impl/README.md; FAILCLOSED_* variables override the file)');
      throw error;
    }
    let variation = {};
    if (typeof values.variant === 'string') {
      const { MUTANTS } = await import('../../conformance/mutants/index.ts');
      const mutant = MUTANTS.find((m) => m.id === values.variant);
      if (!mutant) return io.fail(`no planted-bug variant "${values.variant}"`, `name one of ${MUTANTS.filter((m) => appliesOverHttp(m.target.variation)).map((m) => m.id).join(', ')}`);
      if (!appliesOverHttp(mutant.target.variation)) return io.fail(`the variant "${mutant.id}" ${whyOnlyInProcess(mutant.target.variation)} and exists only in-process`, 'test it with `failclosed run --variant ID` (in-process) instead');
      variation = mutant.target.variation;
      io.out(`WARNING: serving the planted-bug variant "${mutant.id}": ${mutant.breaks}\n`);
    }
    let running;
    try {
      running = await startReference(config, variation);
    } catch (error) {
      const { code, why } = listenProblem(error);
      const address = error as { address?: string; port?: number };
      if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
        return io.fail(
          `cannot start: cannot listen on ${address.address ?? config.host}:${address.port ?? '?'}: ${why}`,
          code === 'EADDRNOTAVAIL'
            ? 'listen on an address of this machine ("host" in --config, or FAILCLOSED_LISTEN_HOST)'
            : 'stop what listens there, or choose other ports ("ports" in --config, or FAILCLOSED_LISTEN_PORT and the other FAILCLOSED_*_PORT variables)',
          1,
        );
      }
      return io.fail(`cannot start: ${why}`, config.store.url ? `check that PostgreSQL answers at the store URL, the data folder ${config.dataDir} and the configuration` : `check the data folder ${config.dataDir} and the configuration`, 1);
    }
    const lines = [
      'failclosed reference system is running',
      `  gate             ${running.urls.gate}   (POST /v1/requests, GET /v1/audit, GET /v1/events, GET /healthz)`,
      `  control plane    ${running.urls.controlPlane}${config.controlPlane.url ? '   (external)' : '   (POST /v1/decide, GET /v1/keys)'}`,
      `  execution layer  ${running.urls.executionLayer}${config.executionLayer.url ? '   (external)' : '   (POST /v1/execute)'}`,
      `  control plane keys: ${running.controlPlaneKeys.map((k) => k.key_id).join(', ')}`,
      `  identity keys: ${running.identityKeys.map((k) => `${k.key_id} (${k.identity}, ${k.state})`).join(', ')}  from ${running.paths.identityKeys}`,
      ...(running.paths.demoClientKey ? [`  demo client key (secret seed): ${running.paths.demoClientKey}`] : []),
      ...(running.paths.policy ? [`  policy: ${running.paths.policy}`] : []),
      `  audit log: ${running.paths.audit}`,
      `  effects: ${running.paths.effects ?? config.effects.url}`,
      `  nonces: ${running.paths.nonces}; approvals: ${running.paths.approvals}`,
      'ready',
      '',
    ];
    io.out(lines.join('\n'));
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        io.out(`received ${signal}, stopping\n`);
        resolve();
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    await running.close();
    io.out('stopped\n');
    return 0;
  },
};
