/**
 * A per-container cache of secret values with a TTL. It is safe when one execution environment serves
 * concurrent invocations: concurrent first uses share one fetch, a failed fetch is not cached, and a
 * forced refresh replaces only the entry the caller saw, so a burst of auth errors refetches once.
 */
export interface CachedSecret<T> {
  value: T;
  fetchedAt: number;
}

export interface SecretCacheOptions<T> {
  ttlMs: number;
  load: (secretId: string) => Promise<T>;
  now?: () => number;
}

export interface SecretCache<T> {
  get(secretId: string): Promise<CachedSecret<T>>;
  /** Fetch again unless another caller already replaced `stale`. */
  refresh(secretId: string, stale: CachedSecret<T>): Promise<CachedSecret<T>>;
  clear(): void;
}

interface Slot<T> {
  promise: Promise<CachedSecret<T>>;
  settled?: CachedSecret<T>;
}

export function createSecretCache<T>({ ttlMs, load, now = Date.now }: SecretCacheOptions<T>): SecretCache<T> {
  const slots = new Map<string, Slot<T>>();

  const start = (secretId: string): Promise<CachedSecret<T>> => {
    const slot = {} as Slot<T>;
    slot.promise = load(secretId).then(
      (value) => {
        slot.settled = { value, fetchedAt: now() };
        return slot.settled;
      },
      (error: unknown) => {
        // Waiters share the failure; the next caller tries again.
        if (slots.get(secretId) === slot) slots.delete(secretId);
        throw error;
      },
    );
    slots.set(secretId, slot);
    return slot.promise;
  };

  return {
    get(secretId) {
      const slot = slots.get(secretId);
      if (slot && (!slot.settled || now() - slot.settled.fetchedAt < ttlMs)) return slot.promise;
      return start(secretId);
    },
    refresh(secretId, stale) {
      const slot = slots.get(secretId);
      // In flight, or already replaced by a concurrent refresh: use that instead of fetching again.
      if (slot && slot.settled !== stale) return slot.promise;
      return start(secretId);
    },
    clear() {
      slots.clear();
    },
  };
}
