/**
 * Where executed actions are reported: the ground truth a test harness reads. A file sink appends
 * one JSON line per effect (fsync before the action counts as done, concurrent effects sharing
 * one fsync); a URL sink POSTs it; a memory sink keeps it in an array for in-process runs.
 */
import { randomUUID } from 'node:crypto';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalize } from '../../model/profile/canonical-json.ts';
import { AppendOnlyFile } from '../stores/append-only-file.ts';

export interface EffectRecord {
  effect_id: string;
  /** unix milliseconds */
  at: number;
  approval_id: string;
  request_id: string;
  identity: string;
  action: string;
  parameters: JsonValue;
}

export interface EffectSink {
  report(effect: EffectRecord): Promise<void>;
  close(): Promise<void>;
}

export const newEffectId = (): string => `effect-${randomUUID()}`;

export class MemoryEffectSink implements EffectSink {
  readonly effects: EffectRecord[] = [];
  async report(effect: EffectRecord): Promise<void> {
    this.effects.push(structuredClone(effect));
  }
  async close(): Promise<void> {}
}

/**
 * One canonical JSON line per effect in an append-only file (AppendOnlyFile: one owner by lock
 * file, a torn last line cut at open). Always fdatasync'ed before `report` resolves: it is the
 * ground truth. Concurrent reports share one write and one fdatasync (group commit) unless
 * `groupCommit` is false.
 */
export class FileEffectSink implements EffectSink {
  private constructor(private readonly file: AppendOnlyFile) {}

  static async open(path: string, options: { groupCommit?: boolean } = {}): Promise<FileEffectSink> {
    const { file } = await AppendOnlyFile.open(path, { fsync: true, groupCommit: options.groupCommit ?? true });
    return new FileEffectSink(file);
  }

  report(effect: EffectRecord): Promise<void> {
    return this.file.appendLine(canonicalize(effect));
  }

  /** Writes the effects already reported, then releases the file. */
  close(): Promise<void> {
    return this.file.close();
  }
}

/** Reports to an effect sink's base URL, at POST {url}/v1/effects (the contract's route). */
export class UrlEffectSink implements EffectSink {
  private readonly endpoint: string;

  constructor(
    baseUrl: string,
    private readonly timeoutMs = 2000,
  ) {
    this.endpoint = new URL('v1/effects', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
  }

  async report(effect: EffectRecord): Promise<void> {
    const response = await fetch(this.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: canonicalize(effect),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!response.ok) throw new Error(`effect sink answered ${response.status}`);
  }

  async close(): Promise<void> {}
}
