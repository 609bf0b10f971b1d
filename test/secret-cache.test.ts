import { describe, expect, it } from "vitest";
import { createSecretCache } from "../lambda/aws/secret-cache.ts";

function counter() {
  let now = 0;
  const loads: string[] = [];
  let failNext = false;
  const gates: (() => void)[] = [];
  return {
    clock: { now: () => now, advance: (ms: number) => (now += ms) },
    loads,
    failOnce: () => (failNext = true),
    release: () => {
      for (const open of gates.splice(0)) open();
    },
    load: async (id: string) => {
      const n = loads.push(id);
      await new Promise<void>((resolve) => gates.push(resolve));
      if (failNext) {
        failNext = false;
        throw new Error("unavailable");
      }
      return `${id}#${n}`;
    },
  };
}

describe("secret cache", () => {
  it("shares one fetch between concurrent first uses", async () => {
    const c = counter();
    const cache = createSecretCache({ ttlMs: 1000, load: c.load, now: c.clock.now });
    const all = Promise.all(Array.from({ length: 20 }, () => cache.get("a")));
    c.release();
    const values = await all;
    expect(c.loads).toEqual(["a"]);
    expect(new Set(values.map((v) => v.value))).toEqual(new Set(["a#1"]));
  });

  it("serves from cache within the TTL and fetches again after it", async () => {
    const c = counter();
    const cache = createSecretCache({ ttlMs: 1000, load: c.load, now: c.clock.now });
    const first = cache.get("a");
    c.release();
    await first;
    c.clock.advance(999);
    expect((await cache.get("a")).value).toBe("a#1");
    c.clock.advance(1);
    const second = cache.get("a");
    c.release();
    expect((await second).value).toBe("a#2");
    expect(c.loads).toEqual(["a", "a"]);
  });

  // Issue 14, finding 4: a broken secret cost one Secrets Manager read per request.
  it("answers a failure from memory for failureTtlMs, then reads again", async () => {
    const c = counter();
    const cache = createSecretCache({ ttlMs: 60_000, failureTtlMs: 5000, load: c.load, now: c.clock.now });
    c.failOnce();
    const waiters = [cache.get("a"), cache.get("a")];
    c.release();
    const settled = await Promise.allSettled(waiters);
    expect(settled.map((s) => s.status)).toEqual(["rejected", "rejected"]);

    c.clock.advance(4999);
    const burst = await Promise.allSettled(Array.from({ length: 50 }, () => cache.get("a")));
    expect(burst.every((s) => s.status === "rejected")).toBe(true);
    expect(c.loads).toHaveLength(1);

    // Fixed in the meantime: the first caller after the window reads it.
    c.clock.advance(1);
    const retry = cache.get("a");
    c.release();
    expect((await retry).value).toBe("a#2");
    expect(c.loads).toHaveLength(2);
  });

  it("keeps a failure no longer than good values", async () => {
    const c = counter();
    const cache = createSecretCache({ ttlMs: 0, failureTtlMs: 5000, load: c.load, now: c.clock.now });
    c.failOnce();
    const first = cache.get("a");
    c.release();
    await expect(first).rejects.toThrow("unavailable");
    const retry = cache.get("a");
    c.release();
    expect((await retry).value).toBe("a#2");
  });

  it("does not let a cached failure block a refresh after the window", async () => {
    const c = counter();
    const cache = createSecretCache({ ttlMs: 60_000, failureTtlMs: 5000, load: c.load, now: c.clock.now });
    const first = cache.get("a");
    c.release();
    const good = await first;
    c.failOnce();
    const failed = cache.refresh("a", good);
    c.release();
    await expect(failed).rejects.toThrow("unavailable");
    await expect(cache.refresh("a", good)).rejects.toThrow("unavailable");
    c.clock.advance(5000);
    const again = cache.refresh("a", good);
    c.release();
    expect((await again).value).toBe("a#3");
  });

  it("refreshes once for a burst of callers holding the same stale value", async () => {
    const c = counter();
    const cache = createSecretCache({ ttlMs: 60_000, load: c.load, now: c.clock.now });
    const first = cache.get("a");
    c.release();
    const stale = await first;
    const refreshes = Array.from({ length: 10 }, () => cache.refresh("a", stale));
    c.release();
    const fresh = await Promise.all(refreshes);
    expect(c.loads).toEqual(["a", "a"]);
    expect(new Set(fresh.map((f) => f.value))).toEqual(new Set(["a#2"]));
    // A late caller still holding the stale value gets the new one without another fetch.
    expect((await cache.refresh("a", stale)).value).toBe("a#2");
    expect(c.loads).toHaveLength(2);
  });

  it("Low 6: forces at most one re-read per secret in 5 s, whoever holds which value", async () => {
    const c = counter();
    const cache = createSecretCache({ ttlMs: 60_000, load: c.load, now: c.clock.now });
    const first = cache.get("a");
    c.release();
    const stale = await first;
    const forced = cache.refresh("a", stale);
    c.release();
    const fresh = await forced;
    // Refused again with the fresh value, 4.999 s later: the same value answers, nothing is read.
    c.clock.advance(4999);
    expect(await cache.refresh("a", fresh)).toBe(fresh);
    // Another secret has its own allowance.
    const other = cache.refresh("b", stale);
    c.release();
    await other;
    expect(c.loads).toEqual(["a", "a", "b"]);
    c.clock.advance(1);
    const later = cache.refresh("a", fresh);
    c.release();
    expect((await later).value).toBe("a#4");
  });

  it("Low 6: the 5 s allowance never keeps a failed or forgotten read from being retried", async () => {
    const c = counter();
    const cache = createSecretCache({ ttlMs: 60_000, failureTtlMs: 1000, load: c.load, now: c.clock.now });
    const first = cache.get("a");
    c.release();
    const good = await first;
    c.failOnce();
    const forced = cache.refresh("a", good);
    c.release();
    await expect(forced).rejects.toThrow("unavailable");
    // The failure expired after 1 s; 4 s before the allowance would: a caller still reads again.
    c.clock.advance(1000);
    const again = cache.refresh("a", good);
    c.release();
    expect((await again).value).toBe("a#3");
    // A forgotten entry (a read ahead of need that failed) is read again at once, too.
    c.failOnce();
    c.clock.advance(5000);
    const failing = cache.refresh("a", await again);
    c.release();
    await expect(failing).rejects.toThrow("unavailable");
    cache.forgetFailure("a");
    const fresh = cache.refresh("a", good);
    c.release();
    expect((await fresh).value).toBe("a#5");
  });

  it("keeps secrets apart", async () => {
    const c = counter();
    const cache = createSecretCache({ ttlMs: 1000, load: c.load, now: c.clock.now });
    const both = Promise.all([cache.get("a"), cache.get("b")]);
    c.release();
    expect((await both).map((v) => v.value)).toEqual(["a#1", "b#2"]);
  });

  it("keeps a failure for 5 s by default", async () => {
    const c = counter();
    const cache = createSecretCache({ ttlMs: 60_000, load: c.load, now: c.clock.now });
    c.failOnce();
    const first = cache.get("a");
    c.release();
    await expect(first).rejects.toThrow("unavailable");
    c.clock.advance(4999);
    await expect(cache.get("a")).rejects.toThrow("unavailable");
    c.clock.advance(1);
    const retry = cache.get("a");
    c.release();
    expect((await retry).value).toBe("a#2");
  });

  it("uses the real clock unless given one", async () => {
    const c = counter();
    const cache = createSecretCache({ ttlMs: 60_000, load: c.load });
    const first = cache.get("a");
    c.release();
    await first;
    expect((await cache.get("a")).value).toBe("a#1");
    expect(c.loads).toHaveLength(1);
  });

  it("forgets a failed read on request, so the next caller reads again", async () => {
    const c = counter();
    const cache = createSecretCache({ ttlMs: 60_000, load: c.load, now: c.clock.now });
    c.failOnce();
    const failed = cache.get("a");
    c.release();
    await expect(failed).rejects.toThrow("unavailable");
    cache.forgetFailure("a");
    const retry = cache.get("a");
    c.release();
    expect((await retry).value).toBe("a#2");
  });

  it("forgets nothing that did not fail: a good value or a read in flight stays shared", async () => {
    const c = counter();
    const cache = createSecretCache({ ttlMs: 60_000, load: c.load, now: c.clock.now });
    const inFlight = cache.get("a");
    cache.forgetFailure("a");
    const joined = cache.get("a");
    c.release();
    expect((await joined).value).toBe("a#1");
    await inFlight;
    cache.forgetFailure("a");
    cache.forgetFailure("unknown");
    expect((await cache.get("a")).value).toBe("a#1");
    expect(c.loads).toEqual(["a"]);
  });
});
