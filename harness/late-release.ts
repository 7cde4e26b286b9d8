/**
 * What the harness holds back to deliver late: an allow from the Control Plane it plays, and
 * Gate→Execution Layer calls that its proxy (or the link it hands an in-process gate) delays.
 * Both are held until the Gate has answered its client — so they arrive after the Gate's deadline
 * whatever that deadline is — and released together, a chosen delay later, by the run context
 * (conformance/scenarios/late-answers.ts). Nothing is held for ever: an item still held
 * MAX_LATE_HOLD_MS after it arrived is delivered then (a Gate with no deadline at all meets its
 * answer after all, and shows what it does with it).
 */

/** Longer than the longest deadline the contract allows a Gate (5 s, CONTRACT.md sections 4 and 5). */
export const MAX_LATE_HOLD_MS = 6_000;

export interface LateItem {
  what: 'Control Plane allow' | 'Execution Layer call';
  /** delivers it now; resolves once it was delivered, or could not be (never rejects) */
  deliver(): Promise<void>;
}

interface Held {
  item: LateItem;
  heldAt: number;
  timer: NodeJS.Timeout;
}

export class LateRelease {
  private readonly holding = new Set<Held>();
  private readonly delivering = new Set<Promise<void>>();
  /** when the last delivery finished (harness clock), undefined before any */
  lastDeliveredAt: number | undefined;
  /** items delivered so far, for reports and tests */
  delivered = 0;
  /**
   * The longest time seen, in this campaign, from a trusted allow to the effect it caused: how long
   * the system takes to act on an allow. The grace after a late delivery is derived from it.
   */
  dispatchMs = 0;

  /** Holds `item` until released (or until MAX_LATE_HOLD_MS passed). */
  hold(item: LateItem): void {
    const held: Held = {
      item,
      heldAt: Date.now(),
      timer: setTimeout(() => this.deliver(held), MAX_LATE_HOLD_MS),
    };
    // Not unref'd: while the harness holds an answer, it is waiting for something (bounded).
    this.holding.add(held);
  }

  /** How many items wait to be delivered. */
  get held(): number {
    return this.holding.size;
  }

  /** Whether anything is held or still being delivered. */
  get busy(): boolean {
    return this.holding.size > 0 || this.delivering.size > 0;
  }

  private deliver(held: Held): void {
    if (!this.holding.delete(held)) return;
    clearTimeout(held.timer);
    const done = held.item
      .deliver()
      .catch(() => undefined)
      .finally(() => {
        this.delivering.delete(done);
        this.delivered += 1;
        this.lastDeliveredAt = Date.now();
      });
    this.delivering.add(done);
  }

  /**
   * Waits `afterMs`, delivers everything held by then, and resolves once every delivery finished.
   * Returns how many items it delivered.
   */
  async release(afterMs: number): Promise<number> {
    if (afterMs > 0) await new Promise((resolve) => setTimeout(resolve, afterMs));
    const now = [...this.holding];
    for (const held of now) this.deliver(held);
    await this.settle();
    return now.length;
  }

  /** Resolves once no delivery is in flight (bounded: a delivery is one bounded exchange). */
  async settle(): Promise<void> {
    while (this.delivering.size > 0) await Promise.allSettled([...this.delivering]);
  }

  /** Forgets everything held without delivering it (the harness is closing). */
  drop(): void {
    for (const held of this.holding) clearTimeout(held.timer);
    this.holding.clear();
  }
}
