/**
 * A per-container cache of secret values with a TTL. It is safe when one execution environment serves
 * concurrent invocations: concurrent first uses share one fetch, and a forced refresh replaces only the
 * entry the caller saw, so a burst of auth errors refetches once. A failed fetch (missing, placeholder
 * or unreadable secret, throttled Secrets Manager) is kept for a few seconds only: long enough that a
 * broken secret does not cost one read per request, short enough that fixing it takes effect at once.
 */
export interface CachedSecret<T> {
  value: T;
  fetchedAt: number;
}

/** How long a failed read is answered from memory; bounded by the TTL of good reads. */
export const FAILURE_TTL_MS = 5_000;
/**
 * At most one forced re-read per secret in this long: credentials Bitrix24 keeps refusing would
 * otherwise cost one Secrets Manager read per request (and bypass the extension's cache each time).
 */
export const FORCED_REFRESH_INTERVAL_MS = 5_000;

export interface SecretCacheOptions<T> {
  ttlMs: number;
  /** Default FAILURE_TTL_MS. */
  failureTtlMs?: number;
  load: (secretId: string) => Promise<T>;
  now?: () => number;
}

export interface SecretCache<T> {
  get(secretId: string): Promise<CachedSecret<T>>;
  /**
   * Fetch again unless another caller already replaced `stale`, or a forced re-read of this secret
   * started less than FORCED_REFRESH_INTERVAL_MS ago (then the current value is the answer).
   */
  refresh(secretId: string, stale: CachedSecret<T>): Promise<CachedSecret<T>>;
  /** Drops a failed read, so the next caller reads again (a read ahead of need must cost nothing). */
  forgetFailure(secretId: string): void;
}

interface Slot<T> {
  promise: Promise<CachedSecret<T>>;
  settled?: CachedSecret<T>;
  failedAt?: number;
}

export function createSecretCache<T>({
  ttlMs,
  failureTtlMs = FAILURE_TTL_MS,
  load,
  now = () => Date.now(),
}: SecretCacheOptions<T>): SecretCache<T> {
  const slots = new Map<string, Slot<T>>();
  const forcedAt = new Map<string, number>();
  const failureTtl = Math.min(failureTtlMs, ttlMs);

  /** In flight, or settled recently enough to answer from. */
  const usable = (slot: Slot<T>): boolean => {
    if (slot.settled) return now() - slot.settled.fetchedAt < ttlMs;
    if (slot.failedAt !== undefined) return now() - slot.failedAt < failureTtl;
    return true;
  };

  const start = (secretId: string): Promise<CachedSecret<T>> => {
    const slot = {} as Slot<T>;
    slot.promise = load(secretId).then(
      (value) => {
        slot.settled = { value, fetchedAt: now() };
        return slot.settled;
      },
      (error: unknown) => {
        // Waiters share the failure, and so do callers within failureTtl; after it, the next caller tries again.
        slot.failedAt = now();
        throw error;
      },
    );
    slots.set(secretId, slot);
    return slot.promise;
  };

  return {
    get(secretId) {
      const slot = slots.get(secretId);
      if (slot && usable(slot)) return slot.promise;
      return start(secretId);
    },
    refresh(secretId, stale) {
      const slot = slots.get(secretId);
      // In flight, or already replaced by a concurrent refresh: use that instead of fetching again.
      if (slot && slot.settled !== stale && usable(slot)) return slot.promise;
      const last = forcedAt.get(secretId);
      if (slot && usable(slot) && last !== undefined && now() - last < FORCED_REFRESH_INTERVAL_MS)
        return slot.promise;
      forcedAt.set(secretId, now());
      return start(secretId);
    },
    forgetFailure(secretId) {
      if (slots.get(secretId)?.failedAt !== undefined) slots.delete(secretId);
    },
  };
}
