/**
 * A finished answer as plain data (Idempotency-Key stores it and replays it), and its two renderings: an
 * API Gateway response, or a direct caller's value or thrown error.
 */
import { type ProblemDocument, TransferError, toProblemDocument } from "../domain/problems.ts";
import type { TransferResult } from "../domain/transfer-outcome.ts";
import { type HttpResult, jsonResult } from "../events/api-gateway.ts";
import type { Handled } from "./invocation-run.ts";
import { type BatchResponse, batchResponse, type InputOutcome, sharedFailure } from "./transfer-input.ts";

export type TransferResponse = TransferResult & { requestId: string };

/** A `problem` is a failure worth storing under the key (one after the hand-over's message was written). */
export type Answer =
  | { status: number; body: TransferResponse | BatchResponse; problem?: undefined }
  | { status: number; problem: ProblemDocument; retryAfter?: number };

/** Only answers worth replaying are made: a batch whose items all share one failure throws it instead. */
export function answerFor(outcome: InputOutcome, requestId: string): Answer {
  if (outcome.kind === "single") return { status: 200, body: { ...outcome.result, requestId } };
  const shared = sharedFailure(outcome.outcome);
  if (shared) throw shared;
  const body = batchResponse(outcome.requests, outcome.outcome, requestId);
  return { status: body.failed > 0 ? 207 : 200, body };
}

export function problemAnswer(error: TransferError, requestId: string): Answer {
  const answer: Answer = { status: error.status, problem: toProblemDocument(error, requestId) };
  if (error.details.retryAfter !== undefined) answer.retryAfter = error.details.retryAfter;
  return answer;
}

export function httpResult(answer: Answer, replayed: boolean): HttpResult {
  const replay: Record<string, string> = replayed ? { "idempotent-replayed": "true" } : {};
  if (!answer.problem) return jsonResult(answer.status, answer.body, "application/json", replay);
  const headers =
    answer.retryAfter === undefined ? replay : { ...replay, "retry-after": String(answer.retryAfter) };
  return jsonResult(answer.status, answer.problem, "application/problem+json", headers);
}

/** Direct invocations get the body, or the problem thrown, so Lambda's retries and destinations see it. */
export function directResult(answer: Answer): Handled["result"] {
  if (!answer.problem) return { kind: "return", value: answer.body };
  const { detail, code, errors, bitrix24, message, chat } = answer.problem;
  const error = new TransferError(code, {
    detail,
    ...(errors ? { errors } : {}),
    ...(bitrix24 ? { bitrix24 } : {}),
    ...(message ? { message } : {}),
    ...(chat ? { chat } : {}),
  });
  return { kind: "throw", error };
}

/** `allow`: the method the resource takes, named with METHOD_NOT_ALLOWED. */
export function problemResult(error: TransferError, requestId: string, allow = "POST"): HttpResult {
  const headers: Record<string, string> = {};
  if (error.details.retryAfter !== undefined) headers["retry-after"] = String(error.details.retryAfter);
  if (error.code === "METHOD_NOT_ALLOWED") headers.allow = allow;
  return jsonResult(error.status, toProblemDocument(error, requestId), "application/problem+json", headers);
}
