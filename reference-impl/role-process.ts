/**
 * The embedded Control Plane and/or Execution Layer in a child process of `failclosed serve`
 * (`roleProcesses` "two" or "three"), so that the roles' work runs on more than one core. The
 * Gate stays in the parent and reaches them over HTTP exactly as in one process: the same servers,
 * stores and checks, only in another process.
 *
 * Protocol on the IPC channel: the parent sends `{start: RoleSpec}`; the child answers
 * `{ready: urls}` or `{failed: message}`. `{close: true}` — or the parent going away — closes the
 * servers and the stores (pending durable writes finish first) and ends the child.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { fromHex } from '../model/profile/encoding.ts';
import type { TrustedKey } from '../model/profile/messages.ts';
import type { KeyId } from '../model/profile/signing.ts';
import { keyPairFromSeed } from '../model/profile/signing.ts';
import { systemClock } from './clock.ts';
import { ControlPlane } from './control-plane/control-plane.ts';
import { parsePolicy } from './control-plane/policy.ts';
import type { EffectSink } from './execution-layer/effect-sink.ts';
import { FileEffectSink, UrlEffectSink } from './execution-layer/effect-sink.ts';
import { ExecutionLayer } from './execution-layer/execution-layer.ts';
import { createControlPlaneServer } from './http/control-plane-server.ts';
import { createExecutionLayerServer } from './http/execution-layer-server.ts';
import { closeServer, listen } from './http/http-util.ts';
import { FileJournalClaimStore } from './stores/file-journal-claim-store.ts';

/** What a role process serves: everything it needs, as data (it shares no memory with the Gate). */
export interface RoleSpec {
  host: string;
  controlPlane?: { port: number; policyFile: string; keyFile: string; envelopeTtlSec: number; bodyLimit: number };
  executionLayer?: {
    port: number;
    trustedKeys: TrustedKey[];
    approvalsPath: string;
    effects: { file: string | null; url: string | null };
    fsync: boolean;
    groupCommit: boolean;
    bodyLimit: number;
  };
}

export interface RoleUrls {
  controlPlane?: string;
  executionLayer?: string;
}

type ToChild = { start: RoleSpec } | { close: true };
type FromChild = { ready: RoleUrls } | { failed: string };

const ROLE_FLAG = '--failclosed-role-process';
const THIS_FILE = fileURLToPath(import.meta.url);
/** How long a role process may take to start, and to close before it is killed. */
const START_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 10_000;

/** A started role process, seen from the Gate's side. */
export class RoleProcess {
  private closing = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly urls: RoleUrls,
    /** resolves once the process has ended, saying how */
    private readonly exited: Promise<string>,
    name: string,
  ) {
    void exited.then((how) => {
      // A role that dies leaves the Gate's calls to it refused: every request is denied (fail
      // closed), and the operator is told why.
      if (!this.closing) process.stderr.write(`failclosed serve: the ${name} process exited (${how}); requests that need it are denied\n`);
    });
  }

  static async start(spec: RoleSpec): Promise<RoleProcess> {
    const name = [spec.controlPlane && 'Control Plane', spec.executionLayer && 'Execution Layer'].filter(Boolean).join(' and ');
    const child = fork(THIS_FILE, [ROLE_FLAG], { execArgv: childExecArgv(), serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`)));
    let timer: NodeJS.Timeout | undefined;
    try {
      const urls = await new Promise<RoleUrls>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`the ${name} process did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
        child.once('message', (message: FromChild) => ('ready' in message ? resolve(message.ready) : reject(new Error(`the ${name} process could not start: ${message.failed}`))));
        void exited.then((how) => reject(new Error(`the ${name} process exited (${how}) before it was ready`)));
        child.send({ start: spec } satisfies ToChild);
      });
      return new RoleProcess(child, urls, exited, name);
    } catch (error) {
      child.kill();
      await exited;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes its servers and stores (durable writes under way finish), then waits for it to end. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.child.connected) this.child.send({ close: true } satisfies ToChild);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * The parent's Node options (a profiler flag, say) without its TypeScript loader and debugger,
 * then tsx's: the child is this .ts file (whether the parent registered tsx by flag, by the CLI's
 * register() or not at all).
 */
function childExecArgv(): string[] {
  const kept: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const arg = process.execArgv[i]!;
    if ((arg === '--import' || arg === '--require' || arg === '--loader') && /tsx/.test(process.execArgv[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^--(import|require|loader)=.*tsx/.test(arg)) continue;
    // A debugger's port is the parent's: a child asking for the same one would fail to start.
    if (/^--inspect/.test(arg)) continue;
    kept.push(arg);
  }
  return [...kept, '--import', import.meta.resolve('tsx')];
}

// ================================================================ the child

async function serveRoles(spec: RoleSpec): Promise<{ urls: RoleUrls; close: () => Promise<void> }> {
  const servers: Server[] = [];
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    await Promise.all(servers.map(closeServer));
    await Promise.allSettled(closers.map((closeOne) => closeOne()));
  };
  try {
    const urls: RoleUrls = {};
    if (spec.controlPlane) {
      const { port, policyFile, keyFile, envelopeTtlSec, bodyLimit } = spec.controlPlane;
      const stored = JSON.parse(readFileSync(keyFile, 'utf8')) as { key_id: KeyId; seed_hex: string };
      const seed = fromHex(stored.seed_hex);
      if (!seed || seed.length !== 32) throw new Error(`${keyFile}: seed_hex must be 32 bytes of hex`);
      const controlPlane = new ControlPlane({
        policy: parsePolicy(readFileSync(policyFile, 'utf8')),
        signingKeys: [keyPairFromSeed(stored.key_id, seed)],
        clock: systemClock,
        envelopeTtlSec,
      });
      const server = createControlPlaneServer(controlPlane, bodyLimit);
      servers.push(server);
      urls.controlPlane = await listen(server, spec.host, port);
    }
    if (spec.executionLayer) {
      const { port, trustedKeys, approvalsPath, effects, fsync, groupCommit, bodyLimit } = spec.executionLayer;
      const approvals = await FileJournalClaimStore.open(approvalsPath, { clock: systemClock, fsync, groupCommit });
      closers.push(() => approvals.close());
      const sink: EffectSink = effects.url ? new UrlEffectSink(effects.url) : await FileEffectSink.open(effects.file!, { groupCommit });
      closers.push(() => sink.close());
      const server = createExecutionLayerServer(new ExecutionLayer({ trustedKeys, approvals, sink, clock: systemClock }), bodyLimit);
      servers.push(server);
      urls.executionLayer = await listen(server, spec.host, port);
    }
    return { urls, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function childMain(): void {
  let running: Promise<{ close: () => Promise<void> } | undefined> | undefined;
  let ending = false;
  const end = async () => {
    if (ending) return;
    ending = true;
    const roles = await running?.catch(() => undefined);
    await roles?.close();
    process.disconnect?.();
    process.exit(0);
  };
  process.on('message', (message: ToChild) => {
    if ('start' in message && running === undefined) {
      running = serveRoles(message.start).then(
        (roles) => {
          process.send!({ ready: roles.urls } satisfies FromChild);
          return roles;
        },
        (error: unknown) => {
          process.send!({ failed: (error as Error).message } satisfies FromChild);
          return undefined;
        },
      );
    } else if ('close' in message) void end();
  });
  // The Gate's process went away: nothing will call these roles any more.
  process.on('disconnect', () => void end());
}

if (process.argv[1] === THIS_FILE && process.argv.includes(ROLE_FLAG)) childMain();
