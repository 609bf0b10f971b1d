import type { Context } from "aws-lambda";
import { classifyInvocation, type EventOrigin } from "./adapters/event-sources.ts";
import { type FailedItem, sendToFailureQueue } from "./adapters/failure-queue.ts";
import { type HttpResult, jsonResult } from "./adapters/http-event.ts";
import { createIdempotency, type Idempotency } from "./adapters/idempotency.ts";
import { logger, redact } from "./adapters/logger.ts";
import { type InvocationMetrics, publishMetrics } from "./adapters/metrics.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { type ProblemCode, TransferError, toProblemDocument } from "./domain/problems.ts";
import type { TransferResult } from "./domain/transfer.ts";
import { requireTransferInput, type TransferInput, type TransferRequest } from "./domain/transfer-request.ts";
import { idempotencyKey } from "./handlers/idempotency-key.ts";
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
  failuresByCode?: Record<string, number>;
  replayed?: boolean;
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
  idempotency?: Idempotency | undefined;
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
    idempotency: config.idempotencyTable ? createIdempotency(config.idempotencyTable) : undefined,
  };
}

/** A finished answer: what HTTP callers get as status and body, and direct callers as the body. */
interface Answer {
  status: number;
  body: TransferResponse | BatchResponse;
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
    let failure: TransferError | undefined;

    try {
      if (invocation.kind === "event") {
        const summary = await handleEvent(
          invocation.origin,
          invocation.payload,
          getRuntime,
          context,
          deadline,
          log,
        );
        failure = summary.failure;
        return summary.summary;
      }
      if (invocation.kind === "unsupported")
        throw new TransferError("UNSUPPORTED_EVENT", { detail: invocation.detail });

      const http = invocation.kind === "http" ? invocation.request : undefined;
      if (http?.client) log.client = http.client;
      const input =
        invocation.kind === "http"
          ? readHttpTransferRequest(invocation.request)
          : requireTransferInput(invocation.payload);
      const key = http ? idempotencyKey(http) : undefined;
      describeInput(log, input, getRuntime().service);

      const execute = async (): Promise<Answer> => {
        const outcome = await runTransferInput(input, getRuntime().service, deadline);
        failure = describeOutcome(log, outcome);
        return answerFor(outcome, log.requestId);
      };
      const { value: answer, replayed } = key
        ? await idempotent(getRuntime(), key, input, context, execute)
        : { value: await execute(), replayed: false };
      if (replayed) log.replayed = true;

      if (!http) return answer.body;
      return jsonResult(
        answer.status,
        answer.body,
        "application/json",
        replayed ? { "idempotent-replayed": "true" } : {},
      );
    } catch (error) {
      failure = asTransferError(error);
      describeFailure(log, failure);
      if (invocation.kind === "http") return problemResult(failure, log.requestId);
      // Direct invocations and events: thrown, so Lambda's retries and failure destinations see it.
      throw failure;
    } finally {
      log.durationMs = Date.now() - started;
      writeLog(log, failure);
      publishMetrics(metricsOf(log));
    }
  };
}

/** Only answers worth replaying are stored: a thrown failure leaves the key free for a retry. */
function answerFor(outcome: InputOutcome, requestId: string): Answer {
  if (outcome.kind === "single") return { status: 200, body: { ...outcome.result, requestId } };
  const shared = sharedFailure(outcome.outcome);
  if (shared) throw shared;
  const body = batchResponse(outcome.requests, outcome.outcome, requestId);
  return { status: body.failed > 0 ? 207 : 200, body };
}

async function idempotent<T>(
  runtime: Runtime,
  key: string,
  payload: unknown,
  context: Context,
  work: () => Promise<T>,
): Promise<{ value: T; replayed: boolean }> {
  if (!runtime.idempotency) {
    throw new ConfigError("a request carries an idempotency key but IDEMPOTENCY_TABLE is not set");
  }
  return runtime.idempotency.run(key, payload, context, work);
}

async function handleEvent(
  origin: EventOrigin,
  payload: unknown,
  getRuntime: () => Runtime,
  context: Context,
  deadline: number,
  log: InvocationLog,
): Promise<{ summary: EventSummary; failure: TransferError | undefined }> {
  if (origin.eventId) log.eventId = origin.eventId;
  log.origin = origin.name;
  const runtime = getRuntime();
  let failure: TransferError | undefined;
  const work = async (): Promise<EventSummary> => {
    const result = await runEvent(origin, payload, runtime, deadline, log);
    failure = result.failure;
    return result.summary;
  };
  // EventBridge redelivers and Lambda retries: the event id makes each event run once.
  const { value: summary, replayed } =
    origin.eventId && runtime.idempotency
      ? await runtime.idempotency.run(`event:${origin.eventId}`, payload, context, work)
      : { value: await work(), replayed: false };
  if (replayed) log.replayed = true;
  return { summary, failure };
}

async function runEvent(
  origin: EventOrigin,
  payload: unknown,
  runtime: Runtime,
  deadline: number,
  log: InvocationLog,
): Promise<{ summary: EventSummary; failure: TransferError | undefined }> {
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

  let total = 1;
  let failure: TransferError | undefined;
  let input: TransferInput | undefined;
  try {
    input = requireTransferInput(payload);
  } catch (error) {
    failure = asTransferError(error);
    describeFailure(log, failure);
    park(failure, payload);
  }
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
    const { requests } = input;
    describeInput(log, input, runtime.service);
    total = requests.length;
    const outcome = await runtime.service.transferBatch(requests, deadline);
    failure = describeOutcome(log, { kind: "batch", requests, outcome });
    outcome.items.forEach((item, index) => {
      if (!item.ok) park(item.error, requests[index], index);
    });
  }

  if (failed.length > 0) {
    if (!runtime.failureQueueUrl) {
      throw new TransferError((failure as TransferError).code, {
        detail: `${failed.length} item(s) failed and no FAILURE_QUEUE_URL is configured to keep them`,
      });
    }
    // If the queue cannot take them, throwing lets Lambda retry the event rather than lose the items.
    await runtime.sendFailures(runtime.failureQueueUrl, failed);
  }
  const summary: EventSummary = {
    succeeded: total - failed.length,
    failed: failed.length,
    requestId: log.requestId,
  };
  if (origin.eventId) summary.eventId = origin.eventId;
  return { summary, failure };
}

/** A replay transferred nothing now; validation and other whole-request failures count once by code. */
function metricsOf(log: InvocationLog): InvocationMetrics {
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
    retries: Math.max(0, log.attempts - 1),
    durationMs: log.durationMs,
    replayed,
  };
}

function describeInput(log: InvocationLog, input: TransferInput, service: TransferService): void {
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
function describeOutcome(log: InvocationLog, outcome: InputOutcome): TransferError | undefined {
  if (outcome.kind === "single") {
    log.attempts = outcome.attempts;
    return undefined;
  }
  const { items, attempts } = outcome.outcome;
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
