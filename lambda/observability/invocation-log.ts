/** One JSON log line per invocation, and the metrics it implies, built from ids and codes only. */
import type { ProblemCode } from "../domain/problems.ts";
import { logger } from "./logger.ts";
import type { InvocationMetrics } from "./metrics.ts";

export interface InvocationLog {
  requestId: string;
  source: "http" | "direct" | "eventbridge" | "schedule" | "unsupported";
  eventId?: string;
  origin?: string;
  client?: string;
  portal?: string;
  chatId?: number;
  target?: unknown;
  items?: number;
  succeeded?: number;
  failed?: number;
  failuresByCode?: Record<string, number>;
  /** Hand-overs that the fallback target took. */
  fallbacksUsed?: number;
  /** Messages that were asked for and not confirmed as written. */
  messagesNotSent?: number;
  replayed?: boolean;
  /** `read`: a chat read, which hands nothing over and counts in no transfer metric. */
  operation?: "read";
  outcome: "TRANSFERRED" | "PARTIAL" | "READ" | ProblemCode;
  status: number;
  /** Bitrix24 calls made by the hand-over (retries included); `metricsOf` counts retries from it. */
  attempts: number;
  /** Bitrix24 calls that read the chats (the guard, a lost answer's settlement), apart from `attempts`. */
  reads?: number;
  durationMs: number;
  coldStart: boolean;
  bitrix24Error?: string;
  /** Why, for a failure: our own text, already bounded and redacted by TransferError. */
  detail?: string;
}

/** A replay transferred nothing now; validation and other whole-request failures count once by code. */
export function metricsOf(log: InvocationLog): InvocationMetrics {
  const replayed = log.replayed === true;
  let succeeded = 0;
  let failed: Record<string, number> = {};
  if (!replayed && log.operation !== "read") {
    if (log.failuresByCode) failed = log.failuresByCode;
    else if (log.outcome !== "TRANSFERRED" && log.outcome !== "PARTIAL") failed = { [log.outcome]: 1 };
    if (log.items !== undefined) succeeded = log.succeeded ?? 0;
    else if (log.outcome === "TRANSFERRED") succeeded = 1;
  }
  return {
    source: log.source,
    portal: log.portal,
    coldStart: log.coldStart,
    succeeded,
    failed,
    fallbacksUsed: replayed ? 0 : (log.fallbacksUsed ?? 0),
    messagesNotSent: replayed ? 0 : (log.messagesNotSent ?? 0),
    retries: Math.max(0, log.attempts - 1),
    durationMs: log.durationMs,
    replayed,
  };
}

export function writeInvocationLog(log: InvocationLog): void {
  if (log.operation === "read") {
    if (log.outcome === "READ" || log.status < 500) logger.info("chat read", { ...log });
    else logger.error("chat read failed", { ...log });
  } else if (log.outcome === "TRANSFERRED") logger.info("transfer", { ...log });
  else if (log.outcome === "PARTIAL") logger.warn("transfer partly failed", { ...log });
  else if (log.status >= 500) logger.error("transfer failed", { ...log });
  else logger.warn("transfer refused", { ...log });
}
