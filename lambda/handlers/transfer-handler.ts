import type { Context } from "aws-lambda";
import { ConfigError } from "../config.ts";
import { type ProblemDocument, TransferError, toProblemDocument } from "../domain/problems.ts";
import type { TransferResult } from "../domain/transfer-outcome.ts";
import { requireTransferInput } from "../domain/transfer-request.ts";
import { type HttpResult, jsonResult } from "../events/api-gateway.ts";
import { classifyInvocation } from "../events/invocation.ts";
import {
  asTransferError,
  describeFailure,
  describeInput,
  describeOutcome,
  type InvocationLog,
  metricsOf,
  writeLog,
} from "../observability/invocation-log.ts";
import { publishMetrics } from "../observability/metrics.ts";
import { defaultRuntime, type Runtime } from "./dependencies.ts";
import { type EventSummary, handleEvent } from "./event.ts";
import { idempotencyKey } from "./http/idempotency-key.ts";
import { MAX_BODY_BYTES, readHttpTransferRequest } from "./http/read-request.ts";
import {
  type BatchResponse,
  batchResponse,
  type InputOutcome,
  runTransferInput,
  sharedFailure,
} from "./transfer-input.ts";

export type { Runtime } from "./dependencies.ts";
export type { EventSummary } from "./event.ts";

/** Kept back from the Lambda deadline, so a timed-out Bitrix24 call still ends in a clean answer. */
const SAFETY_MARGIN_MS = 1000;

export type TransferResponse = TransferResult & { requestId: string };

export interface HandlerOptions {
  /** Built on first use, so a configuration error is reported per request, not as a crash at import. */
  runtime?: () => Runtime;
}

/**
 * A finished answer: what HTTP callers get as status and body, and direct callers as the body. Plain
 * data, because Idempotency-Key stores it and replays it. A `problem` is a failure worth storing.
 */
type Answer =
  | { status: number; body: TransferResponse | BatchResponse; problem?: undefined }
  | { status: number; problem: ProblemDocument; retryAfter?: number };

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
    const deadline = started + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS;
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
      const key = http
        ? idempotencyKey(http)
        : invocation.kind === "direct" && invocation.idempotencyKey
          ? `direct:${invocation.idempotencyKey}`
          : undefined;
      describeInput(log, input, getRuntime().service);

      const execute = async (): Promise<Answer> => {
        try {
          const outcome = await runTransferInput(input, getRuntime().service, deadline);
          failure = describeOutcome(log, outcome);
          return answerFor(outcome, log.requestId);
        } catch (error) {
          // A failure after the message was written is stored under the key: a retry must not write it twice.
          if (!(error instanceof TransferError) || error.details.message?.sent !== true) throw error;
          failure = error;
          describeFailure(log, error);
          return problemAnswer(error, log.requestId);
        }
      };
      const { value: answer, replayed } = key
        ? await idempotent(getRuntime(), key, input, context, execute)
        : { value: await execute(), replayed: false };
      if (replayed) log.replayed = true;

      const replayHeaders: Record<string, string> = replayed ? { "idempotent-replayed": "true" } : {};
      if (answer.problem) {
        if (!http) throw storedProblem(answer.problem);
        const headers =
          answer.retryAfter === undefined
            ? replayHeaders
            : { ...replayHeaders, "retry-after": String(answer.retryAfter) };
        return jsonResult(answer.status, answer.problem, "application/problem+json", headers);
      }
      if (!http) return answer.body;
      return jsonResult(answer.status, answer.body, "application/json", replayHeaders);
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

function problemAnswer(error: TransferError, requestId: string): Answer {
  const answer: Answer = { status: error.status, problem: toProblemDocument(error, requestId) };
  if (error.details.retryAfter !== undefined) answer.retryAfter = error.details.retryAfter;
  return answer;
}

/** A stored problem, thrown again for a direct caller: the same code, the same texts. */
function storedProblem(problem: ProblemDocument): TransferError {
  const { detail, code, errors, bitrix24, message } = problem;
  return new TransferError(code, {
    detail,
    ...(errors ? { errors } : {}),
    ...(bitrix24 ? { bitrix24 } : {}),
    ...(message ? { message } : {}),
  });
}

function problemResult(error: TransferError, requestId: string): HttpResult {
  const headers: Record<string, string> = {};
  if (error.details.retryAfter !== undefined) headers["retry-after"] = String(error.details.retryAfter);
  if (error.code === "METHOD_NOT_ALLOWED") headers.allow = "POST";
  return jsonResult(error.status, toProblemDocument(error, requestId), "application/problem+json", headers);
}
