/**
 * `failclosed serve` as a separate process, for tests and targets that need a real process:
 * started with a configuration file and/or the contract's environment variables, waited for
 * (bounded) until it prints "ready", killed hard or stopped cleanly.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startGateProcess } from './gate-process.ts';

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

export async function startServeProcess(options: { config?: string; args?: string[]; env?: Record<string, string>; readyTimeoutMs?: number } = {}): Promise<ServeProcess> {
  const gate = await startGateProcess({
    command: process.execPath,
    args: [BIN, 'serve', ...(options.config ? ['--config', options.config] : []), ...(options.args ?? [])],
    ...(options.env ? { env: options.env } : {}),
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    name: 'failclosed serve',
  });
  const url = (role: string) => new RegExp(`${role}\\s+(http://\\S+)`).exec(gate.output())?.[1] ?? '';
  return {
    child: gate.child,
    gate: url('gate'),
    controlPlane: url('control plane'),
    executionLayer: url('execution layer'),
    output: gate.output,
    kill: gate.kill,
    stop: () => gate.stop(),
  };
}
