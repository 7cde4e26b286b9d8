/**
 * A promise-chain mutex: tasks run one at a time, in the order `run` was called. Each store and
 * log serializes its writes through one, so "first to call" is "first to be written".
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    // A failed task must not stall the tasks queued behind it.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
