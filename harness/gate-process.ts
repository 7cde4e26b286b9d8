/**
 * A gate as a child process of the harness: started with an environment, waited for (bounded)
 * until it prints a line `ready` — the contract's signal for a gate the harness starts itself —
 * and killed hard (a crash) or stopped cleanly. What it printed is kept for reports.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export interface GateProcess {
  child: ChildProcess;
  /** everything it printed so far (the last 100 kB) */
  output(): string;
  /** SIGKILL: a crash, nothing flushed */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves to the exit code */
  stop(graceMs?: number): Promise<number | null>;
}

export interface GateProcessOptions {
  command: string;
  args?: string[];
  /** run through `sh -c` in a process group of its own: killing it kills whatever it started */
  shell?: boolean;
  cwd?: string;
  /** added to the harness's own environment */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** what the process is, for messages ("failclosed serve", "the gate command") */
  name?: string;
}

const KEPT_OUTPUT = 100_000;

export function startGateProcess(options: GateProcessOptions): Promise<GateProcess> {
  const name = options.name ?? options.command;
  return new Promise((resolve, reject) => {
    const child = spawn(options.shell ? 'sh' : options.command, options.shell ? ['-c', options.command] : (options.args ?? []), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
      ...(options.cwd ? { cwd: options.cwd } : {}),
      detached: options.shell === true,
    });
    const signal = (sig: NodeJS.Signals) => {
      try {
        if (options.shell && child.pid !== undefined) process.kill(-child.pid, sig);
        else child.kill(sig);
      } catch {
        // already gone
      }
    };
    // A gate in a group of its own outlives the harness unless the harness takes it along.
    const orphanGuard = () => signal('SIGKILL');
    if (options.shell) process.once('exit', orphanGuard);
    let out = '';
    let ready = false;
    const keep = (chunk: Buffer) => {
      out = `${out}${chunk.toString()}`.slice(-KEPT_OUTPUT);
    };
    const timer = setTimeout(() => {
      signal('SIGKILL');
      reject(new Error(`${name} did not print "ready" within ${options.readyTimeoutMs ?? 30_000} ms:\n${out.slice(-2000)}`));
    }, options.readyTimeoutMs ?? 30_000);
    const exited = new Promise<number | null>((done) =>
      child.once('exit', (code) => {
        process.removeListener('exit', orphanGuard);
        // Whatever the shell started goes with it.
        if (options.shell) signal('SIGKILL');
        done(code);
      }),
    );
    const alive = () => child.exitCode === null && child.signalCode === null;
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk);
      if (!ready && /^ready\r?$/m.test(out)) {
        ready = true;
        clearTimeout(timer);
        resolve({
          child,
          output: () => out,
          async kill() {
            if (alive()) signal('SIGKILL');
            await exited;
          },
          async stop(graceMs = 5_000) {
            if (alive()) signal('SIGTERM');
            const hard = setTimeout(() => alive() && signal('SIGKILL'), graceMs);
            const code = await exited;
            clearTimeout(hard);
            return code;
          },
        });
      }
    });
    child.stderr!.on('data', keep);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${name} could not be started: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${name} exited with ${code ?? signal} before it was ready:\n${out.slice(-2000)}`));
    });
  });
}
