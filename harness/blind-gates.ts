/**
 * The blind gates (blind-gates/): gates written by outsiders from CONTRACT.md alone, each with
 * realistic defects behind GATE_DEFECT. They are systems under test like any vendor's, started
 * through `--command`: a correct one must be found compliant (no false alarm), and each defect is
 * a bug the suite should catch on a gate its authors did not write (the blind kill matrix).
 */
import { fileURLToPath } from 'node:url';
import type { Level } from '../conformance/run-control/levels.ts';
import type { Profile } from '../conformance/profiles.ts';
import type { RunReport } from '../conformance/runner.ts';
import { runSuite } from '../conformance/runner.ts';
import { openTarget } from './targets.ts';
import type { TargetSpec } from './targets.ts';

const ROOT = fileURLToPath(new URL('../blind-gates/', import.meta.url));

export interface BlindGate {
  id: 'gate-a' | 'gate-b' | 'gate-c';
  /** what it is, in a few words */
  summary: string;
  /** the command line, run in its folder */
  command: string;
  cwd: string;
  /** the level a correct build of it must meet */
  level: Level;
  /** its planted defects (GATE_DEFECT names), as its authors describe them in FINDINGS.md */
  defects: Record<string, string>;
}

export const BLIND_GATES: readonly BlindGate[] = [
  {
    id: 'gate-a',
    summary: 'one process, the control channel, @noble/curves strict Ed25519, fdatasync\'d files',
    command: 'node server.mjs',
    cwd: `${ROOT}gate-a`,
    level: 'full',
    defects: {
      'replay-cache': 'answers a replay from a cache of the first answer',
      'retry-execution': 'retries the Execution Layer call once when its answer was lost',
      'late-allow': 'a Control Plane allow arriving after the deadline still executes',
      'insertion-order-digest': 'parameters digest over JSON.stringify (client key order)',
      'clock-rounding': 'unix seconds by Math.round instead of floor',
      'forget-nonces-after-restart': 'the nonce log is written but never read back',
      'trust-gateway-header': 'x-gateway-authenticated skips signature and timestamp checks',
      'async-audit': 'the intent record is written fire-and-forget',
      'expiry-off-by-one': 'an envelope expires only after expires_at',
      'window-slack': '15 s of slack beyond the acceptance window',
      'unconfirmed-as-success': 'a lost Execution Layer answer is reported as executed',
    },
  },
  {
    id: 'gate-b',
    summary: 'no control channel (production-shaped), Gate and Execution Layer behind HTTP, node:crypto, journals',
    command: 'node src/main.js',
    cwd: `${ROOT}gate-b`,
    level: 'core',
    defects: {
      'result-cache': 'a result cache keyed by the request bytes',
      'exec-retry': 'retries the Execution Layer call once after a link failure',
      'late-allow': 'a late Control Plane allow executes, unaudited',
      'digest-client-order': 'parameters digest over JSON.stringify (client key order)',
      'clock-round': 'unix seconds by Math.round instead of floor',
      'nonce-ttl-ms': 'nonce memory of 2 × window counted in milliseconds',
      'audit-drop-busy': 'denial records dropped while the audit queue is busy',
      'el-trusts-header': 'the Execution Layer skips re-validation on x-gate-verified: 1',
      'claim-after-policy': 'the nonce is claimed only after the Control Plane allowed',
      'window-off-by-one': 'window edges exclusive instead of inclusive',
    },
  },
  {
    id: 'gate-c',
    summary: 'no control channel, written from contract version 2, Gate and Execution Layer in one process, fsync\'d files',
    command: 'node server.mjs',
    cwd: `${ROOT}gate-c`,
    level: 'core',
    defects: {
      'ts-round': 'reads now with Math.round instead of floor',
      'trust-header': 'x-gate-verified: 1 skips authentication',
      'idempotency-cache': 'answers a repeated request_id from a cache of earlier results',
      'async-nonce': 'writes claims to disk in batches every 2 s',
      'stringify-digest': 'digests JSON.stringify (client key order) instead of RFC 8785',
      'late-allow': 'keeps the Control Plane exchange open and executes a late allow',
      'exec-retry': 'retries the Execution Layer call once after a lost answer',
      'async-audit': 'writes the final audit record 50 ms after answering',
      'expiry-edge': 'treats an envelope as valid at expires_at',
      'json-parse': 'JSON.parse as the reader (duplicate keys, lone surrogates)',
      'nonce-ttl-60': 'forgets claims 60 s after claiming (judged at level full only: needs the clock moved)',
    },
  },
];

export function blindGateTarget(gate: BlindGate, defect?: string): TargetSpec {
  return { kind: 'command', command: gate.command, cwd: gate.cwd, ...(defect ? { env: { GATE_DEFECT: defect } } : {}) };
}

/** One run of the suite against a blind gate (with one defect on, or none). */
export async function runBlindGate(gate: BlindGate, options: { profile: Profile; seed: number; defect?: string; skipPrelude?: boolean }): Promise<RunReport> {
  const target = await openTarget(blindGateTarget(gate, options.defect));
  try {
    return await runSuite(target.makeDriver, {
      harness: target.harness,
      profile: options.profile,
      level: gate.level,
      seed: options.seed,
      ...(options.skipPrelude ? { skipPrelude: true } : {}),
    });
  } finally {
    await target.close();
  }
}
