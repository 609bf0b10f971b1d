/*
 * Time budgets for calls to Bitrix24 and its OAuth server: every call must be over by the invocation's
 * deadline, so waits and attempts are only started when they can still finish inside it.
 */

/** An attempt shorter than this is not worth starting. */
export const MIN_ATTEMPT_MS = 200;

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 4000 };

/**
 * Waits before attempt `attempt + 1`, or returns false when that attempt could not start before the
 * deadline. Full jitter spreads the retries of concurrent containers across the portal's leaky bucket.
 */
export async function backOff(
  attempt: number,
  retry: RetryPolicy,
  deadline: number,
  random = Math.random,
): Promise<boolean> {
  const delay = random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return sleepWithin(delay, deadline);
}

/** Sleeps `ms` unless an attempt could then no longer start before the deadline. */
export async function sleepWithin(ms: number, deadline: number): Promise<boolean> {
  if (Date.now() + ms + MIN_ATTEMPT_MS > deadline) return false;
  await sleep(ms);
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}
