import { ConfigError } from "../config.ts";
import { type ProblemCode, TransferError } from "../domain/problems.ts";
import { MAX_DETAIL_CHARS, safeText } from "../domain/safe-text.ts";
import type { TransferInput, TransferRequest } from "../domain/transfer-request.ts";
import { type InputOutcome, sharedFailure } from "../handlers/transfer-input.ts";
import type { TransferService } from "../service/transfer-service.ts";
import { logger } from "./logger.ts";
import type { InvocationMetrics } from "./metrics.ts";

/** What one invocation logs: a single JSON line, built from ids and codes only. */
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
  outcome: "TRANSFERRED" | "PARTIAL" | ProblemCode;
  status: number;
  attempts: number;
  durationMs: number;
  coldStart: boolean;
  bitrix24Error?: string;
}

/** A replay transferred nothing now; validation and other whole-request failures count once by code. */
export function metricsOf(log: InvocationLog): InvocationMetrics {
  const replayed = log.replayed === true;
  let succeeded = 0;
  let failed: Record<string, number> = {};
  if (!replayed) {
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

export function describeInput(log: InvocationLog, input: TransferInput, service: TransferService): void {
  if (input.kind === "single") {
    Object.assign(log, { chatId: input.request.chatId, target: input.request.target });
    log.portal = portalOrUndefined(service, input.request);
  } else {
    log.items = input.requests.length;
    // One portal for the whole batch is the usual case, and lets metrics and logs name it.
    const portals = new Set(input.requests.map((request) => request.portal ?? "default"));
    if (portals.size === 1) log.portal = portalOrUndefined(service, input.requests[0] as TransferRequest);
  }
}

/** Describing must not fail: an unknown portal is reported by the transfer itself, where it belongs. */
function portalOrUndefined(service: TransferService, request: TransferRequest): string | undefined {
  try {
    return service.portalFor(request);
  } catch {
    return undefined;
  }
}

/** Fills the log from an outcome and returns the failure that decides the status, if any. */
export function describeOutcome(log: InvocationLog, outcome: InputOutcome): TransferError | undefined {
  if (outcome.kind === "single") {
    log.attempts = outcome.attempts;
    describeHandOvers(log, [outcome.result]);
    return undefined;
  }
  const { items, attempts } = outcome.outcome;
  describeHandOvers(
    log,
    items.map((item) => (item.ok ? item.result : { message: item.error.details.message })),
  );
  const failures = items.flatMap((item) => (item.ok ? [] : [item.error]));
  Object.assign(log, { attempts, succeeded: items.length - failures.length, failed: failures.length });
  if (failures.length === 0) return undefined;
  log.failuresByCode = {};
  for (const error of failures) log.failuresByCode[error.code] = (log.failuresByCode[error.code] ?? 0) + 1;
  const shared = sharedFailure(outcome.outcome);
  if (shared) return shared;
  Object.assign(log, { outcome: "PARTIAL", status: 207 });
  return failures[0];
}

/** Counts fallbacks and unsent messages; absent when there were none, to keep the usual line short. */
function describeHandOvers(
  log: InvocationLog,
  results: readonly { fallbackUsed?: true; message?: { sent: boolean } | undefined }[],
): void {
  const fallbacks = results.filter((result) => result.fallbackUsed).length;
  const notSent = results.filter((result) => result.message && !result.message.sent).length;
  if (fallbacks > 0) log.fallbacksUsed = fallbacks;
  if (notSent > 0) log.messagesNotSent = notSent;
}

export function describeFailure(log: InvocationLog, failure: TransferError): void {
  Object.assign(log, {
    outcome: failure.code,
    status: failure.status,
    attempts: failure.details.attempts ?? log.attempts,
  });
  if (failure.details.bitrix24) log.bitrix24Error = failure.details.bitrix24.error;
  if (failure.details.message && !failure.details.message.sent) log.messagesNotSent = 1;
}

export function asTransferError(error: unknown): TransferError {
  if (error instanceof TransferError) return error;
  if (error instanceof ConfigError) {
    logger.error("the function is misconfigured", { reason: error.message });
    return new TransferError("INTERNAL_ERROR", {
      detail: "the service is misconfigured; its operators have been told",
    });
  }
  logger.error("unexpected failure", {
    errorName: error instanceof Error ? error.name : typeof error,
    // An unexpected error's text is free text: redacted like an upstream one, and bounded.
    reason: safeText(
      error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error),
      MAX_DETAIL_CHARS * 4,
    ),
  });
  return new TransferError("INTERNAL_ERROR", { detail: "the service failed unexpectedly" });
}

export function writeLog(log: InvocationLog, failure: TransferError | undefined): void {
  if (log.outcome === "TRANSFERRED") logger.info("transfer", { ...log });
  else if (log.outcome === "PARTIAL") logger.warn("transfer partly failed", { ...log });
  else if (log.status >= 500) logger.error("transfer failed", { ...log, detail: failure?.details.detail });
  else logger.warn("transfer refused", { ...log, detail: failure?.details.detail });
}
