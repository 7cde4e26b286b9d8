import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { predictRequest } from './predict.ts';
import { memoryFor, MODEL_REQUEST } from './predict.ts';
import { approvalRememberedUntil, mayHaveForgotten, nonceRememberedUntil } from './system-memory.ts';
import { envelopeWindowAnswer, secondsOver, timestampAnswer, unixSeconds } from './time.ts';

describe('time as the model reads it', () => {
  it('reads whole seconds floored, never rounded', () => {
    expect(unixSeconds(1_767_225_600_999)).toBe(1_767_225_600);
    expect(unixSeconds(1_767_225_600_500)).toBe(1_767_225_600);
    expect(unixSeconds(-1)).toBe(-1);
  });

  it('lists every second a clock may have read over an interval', () => {
    expect(secondsOver(10_400, 10_900)).toEqual([10]);
    expect(secondsOver(10_999, 11_001)).toEqual([10, 11]);
    expect(secondsOver(11_001, 10_999)).toEqual([10, 11]);
  });

  it('keeps both edges of the acceptance window inside it', () => {
    const now = 1_000;
    expect(timestampAnswer(now - 300, now, 300)).toBe('inWindow');
    expect(timestampAnswer(now - 301, now, 300)).toBe('stale');
    expect(timestampAnswer(now + 300, now, 300)).toBe('inWindow');
    expect(timestampAnswer(now + 301, now, 300)).toBe('future');
  });

  it('makes an envelope current from issued_at inclusive to expires_at exclusive', () => {
    expect(envelopeWindowAnswer({ issued_at: 10, expires_at: 11 }, 10)).toBe('current');
    expect(envelopeWindowAnswer({ issued_at: 10, expires_at: 11 }, 11)).toBe('expired');
    expect(envelopeWindowAnswer({ issued_at: 11, expires_at: 70 }, 10)).toBe('notYetValid');
  });
});

describe('memory across time (CONTRACT.md section 3)', () => {
  it('remembers a claim twice the window past the later of its timestamp and the claim', () => {
    expect(nonceRememberedUntil(1_000, 900, 300)).toBe(1_600);
    expect(nonceRememberedUntil(1_000, 1_200, 300)).toBe(1_800);
    expect(approvalRememberedUntil(1_060, 1_000, 300)).toBe(1_660);
  });

  it('leaves memory alone to decide every replay that is still fresh, even after the clock moved back', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3_600 }),
        fc.integer({ min: -7_200, max: 7_200 }),
        fc.integer({ min: -7_200, max: 7_200 }),
        fc.integer({ min: -7_200, max: 7_200 }),
        (window, ts, claimedAt, replayAt) => {
          // Claimed while fresh, replayed while fresh (on a clock that may have jumped either way):
          // neither reading reaches the horizon, so a compliant system still holds the claim.
          fc.pre(timestampAnswer(ts, claimedAt, window) === 'inWindow');
          fc.pre(timestampAnswer(ts, replayAt, window) === 'inWindow');
          const until = nonceRememberedUntil(ts, claimedAt, window);
          expect(mayHaveForgotten(until, Math.max(claimedAt, replayAt))).toBe(false);
        },
      ),
      { numRuns: 2_000 },
    );
    // One window would not do: a request signed at the claim is still fresh a window later.
    expect(timestampAnswer(1_000, 1_300, 300)).toBe('inWindow');
    expect(mayHaveForgotten(1_000 + 300, 1_300)).toBe(true);
  });

  it('says a claim may be forgotten once the clock has read its horizon', () => {
    expect(mayHaveForgotten(1_600, 1_599)).toBe(false);
    expect(mayHaveForgotten(1_600, 1_600)).toBe(true);
  });

  it('accepts either code for an authentic replay whose timestamp has left the window', () => {
    for (const timestamp of ['stale', 'future'] as const) {
      const aged = predictRequest({ timestamp }, memoryFor('nonceClaimed'), MODEL_REQUEST);
      expect(aged.outcome.decision).toBe('denied');
      expect([...aged.outcome.acceptableCodes].sort()).toEqual([timestamp === 'stale' ? 'TIMESTAMP_STALE' : 'TIMESTAMP_FUTURE', 'REPLAY_DETECTED'].sort());
    }
    // Not when another check of the request fails too: that is no replay of an authentic request.
    const revoked = predictRequest({ timestamp: 'stale', identityKey: 'revoked' }, memoryFor('nonceClaimed'), MODEL_REQUEST);
    expect(revoked.outcome.acceptableCodes).not.toContain('REPLAY_DETECTED');
    // Nor when the nonce was never claimed.
    const fresh = predictRequest({ timestamp: 'stale' }, memoryFor('none'), MODEL_REQUEST);
    expect(fresh.outcome.acceptableCodes).toEqual(['TIMESTAMP_STALE']);
  });
});
