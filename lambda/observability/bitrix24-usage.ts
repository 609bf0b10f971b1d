/*
 * How close each portal's methods are to Bitrix24's limits, read from the answers themselves: every
 * answer's `time.operating` is the seconds of the method's operating-time budget used (420 s per 10
 * minutes by default, then 429 OPERATION_TIME_LIMIT until `time.operating_reset_at`), and 503
 * QUERY_LIMIT_EXCEEDED answers show the leaky bucket overflowing (contract.md, "Limits"). Noted per
 * call, published with the invocation's metrics, so operators see a block coming.
 */

/**
 * The operating-time budget of one method, in seconds per 10 minutes: `LoadLimiter::$limitTime` in
 * rest/lib/engine/access/loadlimiter.php (`getLimitTime`); the docs' 480 s is a worked example. A
 * tariff can change it (the `rest_load_limiter_seconds` feature), so BITRIX24_OPERATING_LIMIT_SECONDS
 * overrides it; anything but a positive number keeps the default (metrics must never fail a call).
 */
export const DEFAULT_OPERATING_BUDGET_SECONDS = 420;

export function operatingBudgetSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const configured = Number(env.BITRIX24_OPERATING_LIMIT_SECONDS);
  return Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_OPERATING_BUDGET_SECONDS;
}

export interface MethodUsage {
  /** The portal's host (the URL's path, which holds the webhook code, is never kept). */
  portalHost: string;
  method: string;
  /** The highest `time.operating` seen, in seconds; undefined when no answer carried it. */
  operatingSeconds: number | undefined;
  /** Unix seconds at which part of the budget is released, from the same answer. */
  operatingResetAt: number | undefined;
  /** QUERY_LIMIT_EXCEEDED answers met (each is retried after a back-off). */
  queryLimitHits: number;
}

let noted = new Map<string, MethodUsage>();

/** `configuredHost`: the portal's host as its secret names it, kept instead of the URL's after a move. */
export function noteBitrix24Answer(
  url: string,
  envelope: Record<string, unknown> | undefined,
  configuredHost?: string,
): void {
  if (!envelope) return;
  let portalHost: string;
  let method: string;
  try {
    const parsed = new URL(url);
    portalHost = configuredHost ?? parsed.host;
    method = (parsed.pathname.split("/").pop() ?? "").replace(/\.json$/, "");
  } catch {
    return;
  }
  const key = `${portalHost} ${method}`;
  const usage = noted.get(key) ?? {
    portalHost,
    method,
    operatingSeconds: undefined,
    operatingResetAt: undefined,
    queryLimitHits: 0,
  };
  noted.set(key, usage);
  if (envelope.error === "QUERY_LIMIT_EXCEEDED") usage.queryLimitHits++;
  const time = envelope.time as { operating?: unknown; operating_reset_at?: unknown } | undefined;
  if (typeof time?.operating === "number" && time.operating >= (usage.operatingSeconds ?? 0)) {
    usage.operatingSeconds = time.operating;
    if (typeof time.operating_reset_at === "number") usage.operatingResetAt = time.operating_reset_at;
  }
}

/** What was noted since the last call, and forget it. */
export function takeBitrix24Usage(): MethodUsage[] {
  const usage = [...noted.values()];
  noted = new Map();
  return usage;
}
