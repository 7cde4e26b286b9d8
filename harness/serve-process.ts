/**
 * `failclosed serve` as a separate process, for tests and targets that need a real process:
 * started with a configuration file and/or the contract's environment variables, waited for
 * (bounded) until it prints "ready", killed hard or stopped cleanly.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/failclosed.mjs', import.meta.url));

export interface ServeProcess {
  child: ChildProcess;
  gate: string;
  controlPlane: string;
  executionLayer: string;
  /** everything it printed so far */
  output(): string;
  kill(): Promise<void>;
  stop(): Promise<number | null>;
}

export function startServeProcess(options: { config?: string; args?: string[]; env?: Record<string, string>; readyTimeoutMs?: number } = {}): Promise<ServeProcess> {
  return new Promise((resolve, reject) => {
    const args = [BIN, 'serve', ...(options.config ? ['--config', options.config] : []), ...(options.args ?? [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`failclosed serve did not become ready in time:\n${out}`));
    }, options.readyTimeoutMs ?? 30_000);
    const url = (role: string) => new RegExp(`${role}\\s+(http://\\S+)`).exec(out)?.[1] ?? '';
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const alive = () => child.exitCode === null && child.signalCode === null;
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (/^ready$/m.test(out)) {
        clearTimeout(timer);
        resolve({
          child,
          gate: url('gate'),
          controlPlane: url('control plane'),
          executionLayer: url('execution layer'),
          output: () => out,
          async kill() {
            if (alive()) child.kill('SIGKILL');
            await exited;
          },
          async stop() {
            if (alive()) child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => void (out += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`failclosed serve exited with ${code} before it was ready:\n${out}`));
    });
  });
}
