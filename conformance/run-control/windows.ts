/**
 * Each run of the suite is judged on its own window of the system's life.
 *
 * A system that can be reset starts every run fresh (empty stores, audit log at genesis). One
 * that cannot — a gate without the control channel, as in production — keeps running: each run
 * is judged on the events it caused and the audit records written since the run before, whose
 * chain continues from that run's last record. Either way the system must be fresh when the
 * suite begins: records the suite did not cause would be judged as requests nobody sent.
 */
import type { History } from '../../model/history.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import type { HistoryRecorder } from '../../harness/history-recorder.ts';
import type { Driver } from '../driver.ts';
import { ConformanceFailure } from '../run-context.ts';

/** The system held state the suite did not cause: nothing it does can be judged. */
export class SystemNotFresh extends Error {
  override name = 'SystemNotFresh';
}

interface LogMark {
  length: number;
  /** record_hash of the last record before the window (undefined: the log was empty) */
  lastHash: string | undefined;
}

function lastHashOf(log: readonly JsonValue[]): string | undefined {
  const last = log.at(-1);
  return typeof last === 'object' && last !== null && !Array.isArray(last) && typeof last.record_hash === 'string' ? last.record_hash : undefined;
}

export class RunWindows {
  private marks: LogMark[] | undefined;
  /** how the runs are separated, for reports */
  readonly mode: 'reset' | 'continuous';

  constructor(
    private readonly driver: Driver,
    private readonly recorder: HistoryRecorder,
  ) {
    this.mode = driver.capabilities.has('reset') ? 'reset' : 'continuous';
  }

  private get exported(): boolean {
    return this.driver.capabilities.has('audit-export');
  }

  /**
   * Before the first run: reset when the system can, then demand an empty audit log — a gate that
   * already served requests (doctor's, an earlier run's) would make every verdict about them.
   */
  async ensureFresh(): Promise<void> {
    if (this.mode === 'reset') await this.driver.reset();
    if (!this.exported) return;
    const exports = await this.driver.auditExport();
    const held = exports.reduce((n, log) => n + log.length, 0);
    if (held > 0) {
      throw new SystemNotFresh(
        this.mode === 'reset'
          ? `the system still holds ${held} audit record(s) after POST /failclosed/v1/reset: a reset must empty the audit log (CONTRACT.md §9)`
          : `the gate is not fresh: its audit log already holds ${held} record(s) this run did not cause (doctor's requests, or an earlier run's); restart the gate on an empty data directory, then run again`,
      );
    }
  }

  /** Starts the next run's window. */
  async begin(): Promise<void> {
    this.recorder.reset();
    if (this.mode === 'reset') {
      await this.driver.reset();
      this.marks = undefined;
      return;
    }
    if (!this.exported) return;
    await this.driver.settle();
    const exports = await this.driver.auditExport();
    this.marks = exports.map((log) => ({ length: log.length, lastHash: lastHashOf(log) }));
  }

  /** The window's history: what the run caused, and the audit records written during it. */
  async history(): Promise<History> {
    if (!this.exported) return this.recorder.build([], false);
    await this.driver.settle();
    const exports = await this.driver.auditExport();
    const marks = this.marks;
    if (!marks) return this.recorder.build(exports, true);
    exports.forEach((log, i) => {
      const mark = marks[i];
      if (!mark || mark.length === 0) return;
      // What was exported before this run must still be there, unchanged: the log is append-only.
      if (log.length < mark.length || lastHashOf(log.slice(0, mark.length)) !== mark.lastHash) {
        throw new ConformanceFailure(
          ['INV-5'],
          'history',
          `INV-5 does not hold: audit log ${i} held ${mark.length} record(s) before this run, ending in ${mark.lastHash}; now it holds ${log.length} and ${log.length < mark.length ? 'records are missing' : 'that record changed'} — acknowledged records were lost or rewritten`,
        );
      }
    });
    return this.recorder.build(
      exports.map((log, i) => log.slice(marks[i]?.length ?? 0)),
      true,
      exports.map((_, i) => marks[i]?.lastHash),
    );
  }
}
