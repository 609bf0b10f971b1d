import type { Caller } from "./method-types.ts";
import { RestError } from "./rest-errors.ts";

/**
 * Bitrix24's operating-time limit, as rest/lib/engine/access/loadlimiter.php `LoadLimiter` keeps it:
 * per caller (a webhook's password or an app's client id; here a webhook by its user) and method, the
 * seconds the method ran, in ten one-minute buckets (`$bucketSize` 60, `$bucketCount` 10). While their
 * total is over `getLimitTime()` (`$limitTime` 420 s by default; a tariff can change it), every call
 * of that method is refused before it runs: rest.php `processCall` throws 429 OPERATION_TIME_LIMIT,
 * and a batch command, run by its own `CRestServerBatchItem`, gets it as its own entry. `batch` itself
 * is never counted (`$ignoreMethod`).
 */
export const DEFAULT_OPERATING_LIMIT_SECONDS = 420;
const BUCKET_MS = 60_000;
const BUCKET_COUNT = 10;

export class LoadLimiter {
  readonly #limitSeconds: number;
  readonly #now: () => number;
  /** key → bucket number → seconds. */
  readonly #spent = new Map<string, Map<number, number>>();

  constructor(limitSeconds: number, now: () => number) {
    this.#limitSeconds = limitSeconds;
    this.#now = now;
  }

  /** Registers `seconds` of the method's running time now (what `registerEnding` records). */
  spend(caller: Caller, method: string, seconds: number): void {
    const key = keyOf(caller, method);
    const buckets = this.#spent.get(key) ?? new Map<number, number>();
    const bucket = Math.floor(this.#now() / BUCKET_MS);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + seconds);
    this.#spent.set(key, buckets);
  }

  /** Seconds used over the last ten buckets (`getRestTime`). */
  used(caller: Caller, method: string): number {
    const current = Math.floor(this.#now() / BUCKET_MS);
    let total = 0;
    for (const [bucket, seconds] of this.#spent.get(keyOf(caller, method)) ?? []) {
      if (bucket > current - BUCKET_COUNT) total += seconds;
    }
    return total;
  }

  /** rest.php `processCall`: refused before running while the total is over the limit (`is`). */
  check(caller: Caller, method: string): void {
    if (method === "batch") return;
    if (this.used(caller, method) > this.#limitSeconds) {
      throw new RestError(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.");
    }
  }

  reset(): void {
    this.#spent.clear();
  }
}

function keyOf(caller: Caller, method: string): string {
  return `${caller.kind === "app" ? `app:${caller.clientId}` : `webhook:${caller.userId}`} ${method}`;
}
