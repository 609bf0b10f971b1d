/*
 * How close each portal's methods are to Bitrix24's limits, read from the answers themselves: every
 * answer's `time.operating` is the seconds of the method's operating-time budget used (480 s per 10
 * minutes, then 429 OPERATION_TIME_LIMIT until `time.operating_reset_at`), and 503
 * QUERY_LIMIT_EXCEEDED answers show the leaky bucket overflowing (contract.md, "Limits"). Noted per
 * call, published with the invocation's metrics, so operators see a block coming.
 */

/** The operating-time budget of one method, in seconds per 10 minutes. */
export const OPERATING_BUDGET_SECONDS = 480;

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
