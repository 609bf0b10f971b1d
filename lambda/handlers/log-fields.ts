/**
 * The invocation log line, field by field: each function returns the fields one step contributes, and
 * the handlers combine them; nothing here changes a log in place.
 */
import type { TransferError } from "../domain/problems.ts";
import type { TransferInput, TransferRequest } from "../domain/transfer-request.ts";
import type { InvocationLog } from "../observability/invocation-log.ts";
import type { TransferService } from "../service/transfer-service.ts";
import { type InputOutcome, sharedFailure } from "./transfer-input.ts";

export type LogFields = Partial<InvocationLog>;

export function inputFields(input: TransferInput, service: TransferService): LogFields {
  if (input.kind === "single") {
    const portal = portalOrUndefined(service, input.request);
    return { chatId: input.request.chatId, target: input.request.target, ...(portal ? { portal } : {}) };
  }
  // One portal for the whole batch is the usual case, and lets metrics and logs name it.
  const portals = new Set(input.requests.map((request) => request.portal ?? "default"));
  const portal =
    portals.size === 1 ? portalOrUndefined(service, input.requests[0] as TransferRequest) : undefined;
  return { items: input.requests.length, ...(portal ? { portal } : {}) };
}

/** Describing must not fail: an unknown portal is reported by the transfer itself, where it belongs. */
function portalOrUndefined(service: TransferService, request: TransferRequest): string | undefined {
  try {
    return service.portalFor(request);
  } catch {
    return undefined;
  }
}

/** The fields of a finished run, and the failure that decides the answer when every item shares it. */
export function outcomeFields(outcome: InputOutcome): { log: LogFields; shared?: TransferError } {
  if (outcome.kind === "single") {
    // The target that took the chat, which after a fallback is not the one the request named first.
    const { result } = outcome;
    return {
      log: {
        attempts: outcome.attempts,
        target: result.target,
        ...readsField(outcome.reads),
        ...handOverFields([result]),
      },
    };
  }
  const { items, attempts, reads } = outcome.outcome;
  const failures = items.flatMap((item) => (item.ok ? [] : [item.error]));
  const log: LogFields = {
    attempts,
    ...readsField(reads),
    succeeded: items.length - failures.length,
    failed: failures.length,
    ...handOverFields(items.map((item) => (item.ok ? item.result : { message: item.error.details.message }))),
  };
  if (failures.length === 0) return { log };
  const failuresByCode: Record<string, number> = {};
  for (const error of failures) failuresByCode[error.code] = (failuresByCode[error.code] ?? 0) + 1;
  const shared = sharedFailure(outcome.outcome);
  if (shared) return { log: { ...log, failuresByCode, ...failureFields(shared) }, shared };
  return { log: { ...log, failuresByCode, outcome: "PARTIAL", status: 207 } };
}

/** The guard's and the settlement's reads of the chat, when there were any. */
function readsField(reads: number | undefined): LogFields {
  return reads ? { reads } : {};
}

/** Counts fallbacks and unsent messages; absent when there were none, to keep the usual line short. */
function handOverFields(
  results: readonly { fallbackUsed?: true; message?: { sent: boolean } | undefined }[],
): LogFields {
  const fallbacks = results.filter((result) => result.fallbackUsed).length;
  const notSent = results.filter((result) => result.message && !result.message.sent).length;
  return {
    ...(fallbacks > 0 ? { fallbacksUsed: fallbacks } : {}),
    ...(notSent > 0 ? { messagesNotSent: notSent } : {}),
  };
}

export function failureFields(failure: TransferError): LogFields {
  const { attempts, bitrix24, message, detail } = failure.details;
  return {
    outcome: failure.code,
    status: failure.status,
    detail,
    ...(attempts === undefined ? {} : { attempts }),
    ...(bitrix24 ? { bitrix24Error: bitrix24.error } : {}),
    ...(message && !message.sent ? { messagesNotSent: 1 } : {}),
  };
}
