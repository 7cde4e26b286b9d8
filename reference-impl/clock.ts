/** Time as the reference system sees it. An offset clock lets tests and nemeses skew it. */
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

export class OffsetClock implements Clock {
  constructor(
    private readonly base: Clock = systemClock,
    public offsetMs = 0,
  ) {}
  nowMs(): number {
    return this.base.nowMs() + this.offsetMs;
  }
}

export const nowSec = (clock: Clock): number => Math.floor(clock.nowMs() / 1000);
