/**
 * CPU seconds (user + system, every thread) of this process and of its child processes, read from
 * Linux's /proc: what a bench charges to the system it measures, apart from its client's.
 * Elsewhere the map holds this process alone (from process.cpuUsage).
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessCpu {
  /** "self", "bench client", "role process" or "other child" */
  kind: 'self' | 'bench client' | 'role process' | 'other child';
  cpuSec: number;
}

/** USER_HZ: the unit of /proc/<pid>/stat's times, 100 on Linux. */
const TICKS_PER_SECOND = 100;

export function processCpu(): Map<number, ProcessCpu> {
  const out = new Map<number, ProcessCpu>();
  const own = process.cpuUsage();
  out.set(process.pid, { kind: 'self', cpuSec: (own.user + own.system) / 1e6 });
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces), from field 3 (state) on.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const kind = cmdline.includes('--bench-client') ? 'bench client' : cmdline.includes('role-process') ? 'role process' : 'other child';
      out.set(Number(pid), { kind, cpuSec: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** CPU seconds spent between two readings by the processes of the given kinds (a process new in `after` counts from zero). */
export function cpuSpent(before: Map<number, ProcessCpu>, after: Map<number, ProcessCpu>, kinds: readonly ProcessCpu['kind'][]): number {
  let total = 0;
  for (const [pid, now] of after) {
    if (kinds.includes(now.kind)) total += now.cpuSec - (before.get(pid)?.cpuSec ?? 0);
  }
  return total;
}
