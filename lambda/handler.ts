import type { Context } from "aws-lambda";
import { classifyInvocation, type EventOrigin, type Invocation } from "./adapters/event-sources.ts";
import { type FailedItem, sendToFailureQueue } from "./adapters/failure-queue.ts";
import { type HttpResult, jsonResult } from "./adapters/http-event.ts";
import { logger, redact } from "./adapters/logger.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { type ProblemCode, TransferError, toProblemDocument } from "./domain/problems.ts";
import type { TransferResult } from "./domain/transfer.ts";
import { requireTransferInput, type TransferInput } from "./domain/transfer-request.ts";
import { MAX_BODY_BYTES, readHttpTransferRequest } from "./handlers/read-http-request.ts";
import {
  type BatchResponse,
  batchResponse,
  type InputOutcome,
  runTransferInput,
  sharedFailure,
} from "./handlers/transfer-input.ts";
import { createTransferService, type TransferService } from "./transfer-service.ts";

export type TransferResponse = TransferResult & { requestId: string };

/** What an asynchronous event produced; failed items are already in the failure queue. */
export interface EventSummary {
  succeeded: number;
  failed: number;
  eventId?: string;
  requestId: string;
}

/** What one invocation logs: a single JSON line, built from ids and codes only. */
interface InvocationLog {
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
  failureCodes?: string[];
  outcome: "TRANSFERRED" | "PARTIAL" | ProblemCode;
  status: number;
  attempts: number;
  durationMs: number;
  coldStart: boolean;
  bitrix24Error?: string;
}

export interface Runtime {
  service: TransferService;
  failureQueueUrl: string | undefined;
  sendFailures: (queueUrl: string, items: readonly FailedItem[]) => Promise<void>;
}

export interface HandlerOptions {
  /** Built on first use, so a configuration error is reported per request, not as a crash at import. */
  runtime?: () => Runtime;
}

function defaultRuntime(): Runtime {
  const config = loadConfig();
  return {
    service: createTransferService(config),
    failureQueueUrl: config.failureQueueUrl,
    sendFailures: sendToFailureQueue,
  };
}

/**
 * The Lambda entry: it recognises the event, delegates to the transfer service and turns the outcome
 * into an HTTP response, a return value, or (for direct invocations) a thrown error with the code.
 */
export function createHandler(options: HandlerOptions = {}) {
  let runtime: Runtime | undefined;
  const getRuntime = options.runtime ?? (() => (runtime ??= defaultRuntime()));
  let coldStart = true;

  return async function handler(
    event: unknown,
    context: Context,
  ): Promise<HttpResult | TransferResponse | BatchResponse | EventSummary> {
    const started = Date.now();
    const deadline = started + context.getRemainingTimeInMillis() - 1000;
    const invocation = classifyInvocation(event, MAX_BODY_BYTES);
    const log: InvocationLog = {
      requestId: (invocation.kind === "http" && invocation.request.requestId) || context.awsRequestId,
      source: invocation.kind === "event" ? invocation.origin.type : invocation.kind,
      outcome: "TRANSFERRED",
      status: 200,
      attempts: 0,
      durationMs: 0,
      coldStart,
    };
    coldStart = false;
    const finish = (failure?: TransferError) => {
      log.durationMs = Date.now() - started;
      writeLog(log, failure);
    };

    if (invocation.kind === "event")
      return handleEvent(invocation.origin, invocation.payload, getRuntime, deadline, log, finish);

    let outcome: InputOutcome | undefined;
    let failure: TransferError | undefined;
    try {
      if (invocation.kind === "unsupported")
        throw new TransferError("UNSUPPORTED_EVENT", { detail: invocation.detail });
      if (invocation.kind === "http" && invocation.request.client) log.client = invocation.request.client;
      const input =
        invocation.kind === "http"
          ? readHttpTransferRequest(invocation.request)
          : requireTransferInput(invocation.payload);
      describeInput(log, input, getRuntime().service);
      outcome = await runTransferInput(input, getRuntime().service, deadline);
      failure = describeOutcome(log, outcome);
    } catch (error) {
      failure = asTransferError(error);
      describeFailure(log, failure);
    }
    finish(failure);
    return respond(invocation, outcome, failure, log.requestId);
  };
}

function respond(
  invocation: Invocation,
  outcome: InputOutcome | undefined,
  failure: TransferError | undefined,
  requestId: string,
): HttpResult | TransferResponse | BatchResponse {
  const body =
    outcome?.kind === "single"
      ? { ...outcome.result, requestId }
      : outcome?.kind === "batch"
        ? batchResponse(outcome.requests, outcome.outcome, requestId)
        : undefined;
  if (invocation.kind === "http") {
    if (failure && (!outcome || outcome.kind === "single" || sharedFailure(outcome.outcome)))
      return problemResult(failure, requestId);
    const partial = body && "failed" in body && body.failed > 0;
    return jsonResult(partial ? 207 : 200, body);
  }
  // Direct invocations: a failure of the whole request is thrown so Lambda's retries and destinations see it.
  if (failure && (!outcome || outcome.kind === "single" || sharedFailure(outcome.outcome))) throw failure;
  return body as TransferResponse | BatchResponse;
}

async function handleEvent(
  origin: EventOrigin,
  payload: unknown,
  getRuntime: () => Runtime,
  deadline: number,
  log: InvocationLog,
  finish: (failure?: TransferError) => void,
): Promise<EventSummary> {
  if (origin.eventId) log.eventId = origin.eventId;
  log.origin = origin.name;
  const failed: FailedItem[] = [];
  const park = (error: TransferError, request: unknown, index?: number) =>
    failed.push({
      code: error.code,
      problem: { ...toProblemDocument(error, log.requestId) },
      request,
      ...(index === undefined ? {} : { index }),
      origin: { ...origin },
      requestId: log.requestId,
      failedAt: new Date().toISOString(),
    });

  let runtime: Runtime;
  let total = 1;
  let failure: TransferError | undefined;
  try {
    runtime = getRuntime();
    const input = parkInvalid(payload, (error) => {
      failure = error;
      describeFailure(log, error);
      park(error, payload);
    });
    if (input?.kind === "single") {
      describeInput(log, input, runtime.service);
      try {
        log.attempts = (await runtime.service.transfer(input.request, deadline)).attempts;
      } catch (error) {
        failure = asTransferError(error);
        describeFailure(log, failure);
        park(failure, input.request);
      }
    } else if (input?.kind === "batch") {
      describeInput(log, input, runtime.service);
      total = input.requests.length;
      const outcome = await runtime.service.transferBatch(input.requests, deadline);
      failure = describeOutcome(log, { kind: "batch", requests: input.requests, outcome });
      outcome.items.forEach((item, index) => {
        if (!item.ok) park(item.error, input.requests[index], index);
      });
    }
  } catch (error) {
    // Configuration or programming errors: let Lambda retry, then its on-failure destination keeps the event.
    const unexpected = asTransferError(error);
    describeFailure(log, unexpected);
    finish(unexpected);
    throw unexpected;
  }

  if (failed.length > 0) {
    if (!runtime.failureQueueUrl) {
      finish(failure);
      throw new TransferError((failure as TransferError).code, {
        detail: `${failed.length} item(s) failed and no FAILURE_QUEUE_URL is configured to keep them`,
      });
    }
    // If the queue cannot take them, throwing lets Lambda retry the event rather than lose the items.
    await runtime.sendFailures(runtime.failureQueueUrl, failed);
  }
  finish(failure);
  const summary: EventSummary = {
    succeeded: total - failed.length,
    failed: failed.length,
    requestId: log.requestId,
  };
  if (origin.eventId) summary.eventId = origin.eventId;
  return summary;
}

/** The payload as a transfer input, or undefined after handing its validation problem to `onInvalid`. */
function parkInvalid(payload: unknown, onInvalid: (error: TransferError) => void): TransferInput | undefined {
  try {
    return requireTransferInput(payload);
  } catch (error) {
    onInvalid(asTransferError(error));
    return undefined;
  }
}

function describeInput(log: InvocationLog, input: TransferInput, service: TransferService): void {
  if (input.kind === "single") {
    Object.assign(log, { chatId: input.request.chatId, target: input.request.target });
    log.portal = service.portalFor(input.request);
  } else {
    log.items = input.requests.length;
  }
}

/** Fills the log from an outcome and returns the failure that decides the status, if any. */
function describeOutcome(log: InvocationLog, outcome: InputOutcome): TransferError | undefined {
  if (outcome.kind === "single") {
    log.attempts = outcome.attempts;
    return undefined;
  }
  const { items, attempts } = outcome.outcome;
  const failures = items.flatMap((item) => (item.ok ? [] : [item.error]));
  Object.assign(log, { attempts, succeeded: items.length - failures.length, failed: failures.length });
  if (failures.length === 0) return undefined;
  log.failureCodes = [...new Set(failures.map((error) => error.code))];
  const shared = sharedFailure(outcome.outcome);
  if (shared) {
    describeFailure(log, shared);
    log.attempts = attempts;
    return shared;
  }
  Object.assign(log, { outcome: "PARTIAL", status: 207 });
  return failures[0];
}

function describeFailure(log: InvocationLog, failure: TransferError): void {
  Object.assign(log, {
    outcome: failure.code,
    status: failure.status,
    attempts: failure.details.attempts ?? log.attempts,
  });
  if (failure.details.bitrix24) log.bitrix24Error = failure.details.bitrix24.error;
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
  if (log.outcome === "TRANSFERRED") logger.info("transfer", { ...log });
  else if (log.outcome === "PARTIAL") logger.warn("transfer partly failed", { ...log });
  else if (log.status >= 500) logger.error("transfer failed", { ...log, detail: failure?.details.detail });
  else logger.warn("transfer refused", { ...log, detail: failure?.details.detail });
}

function problemResult(error: TransferError, requestId: string): HttpResult {
  const headers: Record<string, string> = {};
  if (error.details.retryAfter !== undefined) headers["retry-after"] = String(error.details.retryAfter);
  if (error.code === "METHOD_NOT_ALLOWED") headers.allow = "POST";
  return jsonResult(error.status, toProblemDocument(error, requestId), "application/problem+json", headers);
}
