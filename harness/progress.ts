/**
 * Progress of a long run: one line rewritten in place on a terminal, or plain lines — when the
 * output is not a terminal, or CI=true — at most every few seconds and at each change of phase.
 */
import type { RunStatus } from '../conformance/runner.ts';

export interface ProgressDisplay {
  status(status: RunStatus): void;
  /** a message that must stay on screen */
  line(text: string): void;
  /** clears the live line before the final report */
  end(): void;
}

const PLAIN_EVERY_MS = 5_000;

export function formatStatus(s: RunStatus): string {
  const invariants = Object.entries(s.invariants)
    .map(([id, state]) => `${id} ${state === 'broken' ? '✗' : '✓'}`)
    .join(' ');
  const runs = `${s.runsDone}/${s.runsTotal} runs`;
  return `${s.phase.padEnd(9)} ${runs.padEnd(13)} ${String(s.steps).padStart(6)} steps  ${(s.elapsedMs / 1000).toFixed(1).padStart(6)} s  failures ${s.failures}  ${invariants}`;
}

export function progressDisplay(write: (text: string) => void, live: boolean): ProgressDisplay {
  let shown = false;
  let lastPlain = 0;
  let lastPhase: string | undefined;
  return {
    status(s) {
      if (live) {
        write(`\r\x1b[K${formatStatus(s)}`);
        shown = true;
        return;
      }
      const now = Date.now();
      if (s.phase !== lastPhase || now - lastPlain >= PLAIN_EVERY_MS) {
        write(`  ${formatStatus(s)}\n`);
        lastPlain = now;
        lastPhase = s.phase;
      }
    },
    line(text) {
      write(`${live && shown ? '\r\x1b[K' : ''}${text}\n`);
      shown = false;
    },
    end() {
      if (live && shown) write('\r\x1b[K');
      shown = false;
    },
  };
}

/** Live only on a terminal, and never in CI. */
export function wantsLiveProgress(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env.CI !== 'true' && env.CI !== '1';
}
