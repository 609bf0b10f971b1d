/**
 * Bitrix24's request-intensity limit (limits.md): a leaky bucket per portal and source IP, so the webhooks
 * and applications of one portal called from one server share it (the simulator is one portal: its
 * buckets are keyed by the caller's address). Every request
 * adds 1; a request that would take the counter above the threshold X gets 503 QUERY_LIMIT_EXCEEDED;
 * the counter drains by Y per second. So X requests at once pass, the next one is refused, and a client
 * staying at or below Y requests per second is never refused.
 *
 * A refused request adds nothing (it is not executed), so a client that backs off recovers after
 * 1 / Y seconds. The clock is injected so tests and benchmarks can move time themselves.
 */

export interface RateLimit {
  /** The threshold X: how many requests may arrive at once. Cloud default 50, Enterprise 250. */
  burst: number;
  /** The drain rate Y in requests per second. Cloud default 2, Enterprise 5. */
  drainPerSecond: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { burst: 50, drainPerSecond: 2 };

/** Tolerance for float drift when the counter drains in fractions. */
const EPSILON = 1e-9;

export class LeakyBucket {
  readonly #limit: RateLimit;
  readonly #now: () => number;
  #level = 0;
  #updatedAt: number;

  constructor(limit: RateLimit, now: () => number) {
    this.#limit = limit;
    this.#now = now;
    this.#updatedAt = now();
  }

  /** Counts one request; false, counting nothing, when it would take the counter above the burst. */
  tryAdd(): boolean {
    this.#drain();
    if (this.#level + 1 > this.#limit.burst + EPSILON) return false;
    this.#level += 1;
    return true;
  }

  /** The counter now, after draining. */
  get level(): number {
    this.#drain();
    return this.#level;
  }

  #drain(): void {
    const now = this.#now();
    const elapsedSeconds = Math.max(0, now - this.#updatedAt) / 1000;
    this.#level = Math.max(0, this.#level - elapsedSeconds * this.#limit.drainPerSecond);
    this.#updatedAt = now;
  }
}

/** One bucket per key (a source address of this portal's callers), created on first use. */
export class RateLimiter {
  readonly #limit: RateLimit;
  readonly #now: () => number;
  readonly #buckets = new Map<string, LeakyBucket>();

  constructor(limit: RateLimit, now: () => number) {
    if (!(limit.burst >= 1) || !(limit.drainPerSecond > 0)) {
      throw new RangeError("rateLimit needs burst >= 1 and drainPerSecond > 0");
    }
    this.#limit = { ...limit };
    this.#now = now;
  }

  tryAdd(key: string): boolean {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new LeakyBucket(this.#limit, this.#now);
      this.#buckets.set(key, bucket);
    }
    return bucket.tryAdd();
  }

  reset(): void {
    this.#buckets.clear();
  }
}
