import type { Context } from "aws-lambda";
import type { FailedItem } from "../aws/failure-queue.ts";
import { TransferError, toProblemDocument } from "../domain/problems.ts";
import { requireTransferInput, type TransferInput } from "../domain/transfer-request.ts";
import type { EventOrigin } from "../events/invocation.ts";
import {
  asTransferError,
  describeFailure,
  describeInput,
  describeOutcome,
  type InvocationLog,
} from "../observability/invocation-log.ts";
import type { Runtime } from "./dependencies.ts";

/**
 * EventBridge events and schedules: asynchronous, possibly delivered more than once. Each event runs
 * once (its id is the idempotency key); items that finally fail go to the failure queue one by one, so
 * the invocation succeeds and Lambda never retries items that were transferred.
 */
/** What an asynchronous event produced; failed items are already in the failure queue. */
export interface EventSummary {
  succeeded: number;
  failed: number;
  eventId?: string;
  requestId: string;
}

/** Issue 11's problem for a transfer that may or may not have run. */
const OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN";

export async function handleEvent(
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
  // The request is parked exactly as the caller sent it (not our internal form), so it replays as-is
  // through HTTP, a direct invocation or an event.
  const park = (error: TransferError, request: unknown, index?: number) =>
    failed.push({
      code: error.code,
      outcomeUnknown: (error.code as string) === OUTCOME_UNKNOWN,
      problem: { ...toProblemDocument(error, log.requestId) },
      request: withoutWrittenMessage(request, error),
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
      park(failure, payload);
    }
  } else if (input?.kind === "batch") {
    const { requests } = input;
    describeInput(log, input, runtime.service);
    total = requests.length;
    const outcome = await runtime.service.transferBatch(requests, deadline);
    failure = describeOutcome(log, { kind: "batch", requests, outcome });
    outcome.items.forEach((item, index) => {
      if (!item.ok) park(item.error, callerItem(payload, index), index);
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

/**
 * A message that was (or may have been) written is not written again by a replay: the parked request
 * keeps everything else as the caller sent it.
 */
function withoutWrittenMessage(request: unknown, error: TransferError): unknown {
  const message = error.details.message;
  const mayBeWritten = message !== undefined && (message.sent || message.code === "OUTCOME_UNKNOWN");
  if (!mayBeWritten || typeof request !== "object" || request === null || !("message" in request))
    return request;
  const { message: _written, ...rest } = request as Record<string, unknown>;
  return rest;
}

/** A batch item as the caller sent it; the batch already passed validation, so `transfers` is there. */
function callerItem(payload: unknown, index: number): unknown {
  return (payload as { transfers: unknown[] }).transfers[index];
}
