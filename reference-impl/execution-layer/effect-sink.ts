/**
 * Where executed actions are reported: the ground truth a test harness reads. A file sink appends
 * one JSON line per effect (fsync before the action counts as done); a URL sink POSTs it; a memory
 * sink keeps it in an array for in-process runs.
 */
import { randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalize } from '../../model/profile/canonical-json.ts';

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

export class FileEffectSink implements EffectSink {
  private queue: Promise<void> = Promise.resolve();
  private constructor(private readonly file: Awaited<ReturnType<typeof open>>) {}

  static async open(path: string): Promise<FileEffectSink> {
    return new FileEffectSink(await open(path, 'a'));
  }

  report(effect: EffectRecord): Promise<void> {
    const line = `${canonicalize(effect)}\n`;
    const write = this.queue.then(async () => {
      await this.file.write(line);
      await this.file.datasync();
    });
    this.queue = write.catch(() => undefined);
    return write;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.file.close();
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
