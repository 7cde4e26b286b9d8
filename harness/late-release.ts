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
  /**
   * Whether the Gate may still receive it (an allow: its exchange is still open). An Execution
   * Layer call goes to the Execution Layer, not to the Gate: absent.
   */
  open?: () => boolean;
  /**
   * Delivers it now; resolves once it was delivered, or could not be (never rejects), to whether
   * the Gate got something it could still act on (what then has to be watched for).
   */
  deliver(): Promise<boolean>;
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
  /** when the Gate last got something late it could act on, undefined before any */
  lastReachedGateAt: number | undefined;
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
    const done: Promise<void> = held.item
      .deliver()
      .catch(() => false)
      .then((reachedGate) => {
        this.delivering.delete(done);
        this.delivered += 1;
        this.lastDeliveredAt = Date.now();
        if (reachedGate) {
          this.reachedGate += 1;
          this.lastReachedGateAt = this.lastDeliveredAt;
        }
      });
    this.delivering.add(done);
  }

  /** late items the Gate got and could still act on, so far */
  reachedGate = 0;

  /**
   * Whether waiting before a release can matter: something held can still reach the Gate (an open
   * exchange), or goes to the Execution Layer whenever it is delivered.
   */
  get deliverable(): boolean {
    return [...this.holding].some((h) => h.item.open === undefined || h.item.open());
  }

  /**
   * Waits `afterMs`, delivers everything held by then, and resolves once every delivery finished.
   * Returns how many items it delivered, and how many of them reached the Gate.
   */
  async release(afterMs: number): Promise<{ delivered: number; reachedGate: number }> {
    if (afterMs > 0) await new Promise((resolve) => setTimeout(resolve, afterMs));
    const now = [...this.holding];
    const reachedBefore = this.reachedGate;
    for (const held of now) this.deliver(held);
    await this.settle();
    return { delivered: now.length, reachedGate: this.reachedGate - reachedBefore };
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
