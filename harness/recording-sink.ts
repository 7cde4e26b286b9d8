/** The effect sink the harness owns: ground truth of what executed, recorded into the history as it happens. */
import type { EffectRecord, EffectSink } from '../reference-impl/execution-layer/effect-sink.ts';
import type { HistoryRecorder } from './history-recorder.ts';

export class RecordingSink implements EffectSink {
  readonly effects: EffectRecord[] = [];
  constructor(private readonly recorder: HistoryRecorder) {}

  async report(effect: EffectRecord): Promise<void> {
    this.effects.push(structuredClone(effect));
    this.recorder.effect(effect);
  }

  async close(): Promise<void> {}
}
