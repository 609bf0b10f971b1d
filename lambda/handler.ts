import type { Context } from "aws-lambda";
import {
  type HttpResult,
  isHttpApiEvent,
  isRestApiEvent,
  jsonResult,
  toHttpRequest,
} from "./adapters/http-event.ts";
import { logger, redact } from "./adapters/logger.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { type ProblemCode, TransferError, toProblemDocument } from "./domain/problems.ts";
import type { TransferResult } from "./domain/transfer.ts";
import { requireTransferRequest, type TransferRequest } from "./domain/transfer-request.ts";
import { MAX_BODY_BYTES, readHttpTransferRequest } from "./handlers/read-http-request.ts";
import { createTransferService, type TransferService } from "./transfer-service.ts";

export type TransferResponse = TransferResult & { requestId: string };

/** What one invocation logs: a single JSON line, built from ids and codes only. */
interface InvocationLog {
  requestId: string;
  source: "http" | "direct";
  client?: string;
  portal?: string;
  chatId?: number;
  target?: TransferRequest["target"];
  outcome: "TRANSFERRED" | ProblemCode;
  status: number;
  attempts: number;
  durationMs: number;
  coldStart: boolean;
  bitrix24Error?: string;
}

export interface HandlerOptions {
  /** Builds the service on first use, so a configuration error is reported per request, not as a crash. */
  service?: () => TransferService;
}

/**
 * The Lambda entry: it recognises the event, delegates to the transfer service and turns the outcome
 * into an HTTP response or, for direct invocations, a return value or a thrown error with the code.
 */
export function createHandler(options: HandlerOptions = {}) {
  let service: TransferService | undefined;
  const getService = options.service ?? (() => (service ??= createTransferService(loadConfig())));
  let coldStart = true;

  return async function handler(event: unknown, context: Context): Promise<HttpResult | TransferResponse> {
    const started = Date.now();
    const deadline = started + context.getRemainingTimeInMillis() - 1000;
    const http =
      isHttpApiEvent(event) || isRestApiEvent(event) ? toHttpRequest(event, MAX_BODY_BYTES) : undefined;
    const log: InvocationLog = {
      requestId: http?.requestId ?? context.awsRequestId,
      source: http ? "http" : "direct",
      outcome: "TRANSFERRED",
      status: 200,
      attempts: 0,
      durationMs: 0,
      coldStart,
    };
    coldStart = false;
    if (http?.client) log.client = http.client;

    let response: TransferResponse | undefined;
    let failure: TransferError | undefined;
    try {
      const request = http ? readHttpTransferRequest(http) : requireTransferRequest(event);
      Object.assign(log, { chatId: request.chatId, target: request.target });
      const transferService = getService();
      log.portal = transferService.portalFor(request);
      const outcome = await transferService.transfer(request, deadline);
      log.attempts = outcome.attempts;
      response = { ...outcome.result, requestId: log.requestId };
    } catch (error) {
      failure = asTransferError(error);
      Object.assign(log, {
        outcome: failure.code,
        status: failure.status,
        attempts: failure.details.attempts ?? log.attempts,
      });
      if (failure.details.bitrix24) log.bitrix24Error = failure.details.bitrix24.error;
    }
    log.durationMs = Date.now() - started;
    writeLog(log, failure);

    if (http) {
      return failure ? problemResult(failure, log.requestId) : jsonResult(200, response);
    }
    if (failure) throw failure;
    return response as TransferResponse;
  };
}

function asTransferError(error: unknown): TransferError {
  if (error instanceof TransferError) return error;
  if (error instanceof ConfigError) {
    logger.error("the function is misconfigured", { reason: error.message });
    return new TransferError("INTERNAL_ERROR", {
      detail: "the service is misconfigured; its operators have been told",
    });
  }
  logger.error("unexpected failure", {
    errorName: error instanceof Error ? error.name : typeof error,
    reason: redact(error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error)),
  });
  return new TransferError("INTERNAL_ERROR", { detail: "the service failed unexpectedly" });
}

function writeLog(log: InvocationLog, failure: TransferError | undefined): void {
  if (!failure) logger.info("transfer", { ...log });
  else if (failure.status >= 500) logger.error("transfer failed", { ...log, detail: failure.details.detail });
  else logger.warn("transfer refused", { ...log, detail: failure.details.detail });
}

function problemResult(error: TransferError, requestId: string): HttpResult {
  const headers: Record<string, string> = {};
  if (error.details.retryAfter !== undefined) headers["retry-after"] = String(error.details.retryAfter);
  if (error.code === "METHOD_NOT_ALLOWED") headers.allow = "POST";
  return jsonResult(error.status, toProblemDocument(error, requestId), "application/problem+json", headers);
}
