/**
 * A claim-once store: the Gate's nonce store (keys are (identity, action, nonce)) and the
 * Execution Layer's consumed-approval store (keys are approval ids) are both one of these.
 *
 * `claim` is atomic and linearizable: of any number of concurrent claims of one unexpired key,
 * exactly one resolves "claimed", and only after the claim is durable. Everything else is
 * "duplicate". When the store cannot answer, or cannot confirm that a claim is durable, `claim`
 * rejects with a ClaimStoreError — callers deny (fail closed).
 */
export type ClaimResult = 'claimed' | 'duplicate';

export interface ClaimStore {
  /** Claims `key` until `expiresAtMs` (claims are forgotten only after they expire). */
  claim(key: string, expiresAtMs: number): Promise<ClaimResult>;
  close(): Promise<void>;
}

export class ClaimStoreError extends Error {
  constructor(
    /** unavailable: nothing was written; unconfirmed: the write may or may not have landed */
    readonly kind: 'unavailable' | 'unconfirmed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ClaimStoreError';
  }
}
