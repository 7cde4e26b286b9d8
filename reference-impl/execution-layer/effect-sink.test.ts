import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LockHeldError } from '../stores/lock-file.ts';
import { fileHandlePrototype, useTempDirs } from '../stores/test-support.ts';
import type { EffectRecord } from './effect-sink.ts';
import { FileEffectSink } from './effect-sink.ts';

const tempDir = useTempDirs();
afterEach(() => {
  vi.restoreAllMocks();
});

const effect = (n: number): EffectRecord => ({ effect_id: `effect-${n}`, at: 1_700_000_000_000 + n, approval_id: `apr-${n}`, request_id: `req-${n}`, identity: 'demo', action: 'demo.echo', parameters: { n } });

describe('FileEffectSink', () => {
  it('concurrent effects share one datasync and are written in report order', async () => {
    const dir = await tempDir();
    const prototype = await fileHandlePrototype(dir);
    const file = path.join(dir, 'effects.ndjson');
    const sink = await FileEffectSink.open(file);
    const datasync = vi.spyOn(prototype, 'datasync');
    await Promise.all(Array.from({ length: 30 }, (_, i) => sink.report(effect(i))));
    expect(datasync).toHaveBeenCalledTimes(1);
    await sink.close();
    const lines = (await fs.readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as EffectRecord).request_id)).toEqual(Array.from({ length: 30 }, (_, i) => `req-${i}`));
  });

  it('cuts a torn last line left by a crash before appending, and has one owner', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'effects.ndjson');
    await fs.writeFile(file, `${JSON.stringify(effect(0))}\n{"effect_id":"effe`);
    const sink = await FileEffectSink.open(file);
    await expect(FileEffectSink.open(file)).rejects.toBeInstanceOf(LockHeldError);
    await sink.report(effect(1));
    await sink.close();
    const lines = (await fs.readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as EffectRecord).request_id)).toEqual(['req-0', 'req-1']);
  });
});
