/**
 * EventBridge events and schedules: asynchronous, possibly delivered more than once. Each event runs
 * once (its id is the idempotency key); items that finally fail go to the failure queue one by one, so
 * the invocation succeeds and Lambda never retries items that were transferred.
 */
import type { FailedItem } from "../aws/failure-queue.ts";
import { ConfigError } from "../config.ts";
import { interruptedOutcome, TransferError, toProblemDocument } from "../domain/problems.ts";
import { requireTransferInput } from "../domain/transfer-request.ts";
import type { EventOrigin } from "../events/invocation.ts";
import { logUnexpectedFailure } from "../observability/logger.ts";
import type { Dependencies } from "./dependencies.ts";
import { asTransferError } from "./failures.ts";
import type { Handled, InvocationRun } from "./invocation-run.ts";
import { failureFields, inputFields, type LogFields, outcomeFields } from "./log-fields.ts";
import { type InputOutcome, runTransferInput } from "./transfer-input.ts";

/** What an asynchronous event produced; failed items are already in the failure queue. */
export interface EventSummary {
  succeeded: number;
  failed: number;
  eventId?: string;
  requestId: string;
}

export async function handleEvent(
  origin: EventOrigin,
  payload: unknown,
  run: InvocationRun,
): Promise<Handled> {
  const base: LogFields = { origin: origin.name, ...(origin.eventId ? { eventId: origin.eventId } : {}) };
  let learnt: LogFields = {};
  try {
    const dependencies = run.dependencies();
    const work = async (): Promise<EventSummary> => {
      const ran = await runEvent(origin, payload, dependencies, run);
      learnt = ran.log;
      return ran.summary;
    };
    // EventBridge redelivers and Lambda retries: the event id makes each event run once. Scoped by
    // kind and source, so one sender's id (or a schedule's) can never block another's event.
    const { value, replayed } =
      origin.eventId && dependencies.idempotency
        ? await dependencies.idempotency.run(eventKey(origin), payload, run.context, work)
        : { value: await work(), replayed: false };
    return {
      log: { ...base, ...learnt, ...(replayed ? { replayed: true } : {}) },
      result: { kind: "return", value },
    };
  } catch (error) {
    const failure = asTransferError(error);
    return {
      log: { ...base, ...learnt, ...failureFields(failure) },
      result: { kind: "throw", error: failure },
    };
  }
}

/** `event:<kind>:<source or schedule>:<id>`; the JSON list keeps a `:` in a source from forging another scope. */
export function eventKey(origin: EventOrigin): string {
  return `event:${JSON.stringify([origin.type, origin.name, origin.eventId])}`;
}

interface Ran {
  total: number;
  log: LogFields;
  /** Items to park, in the order they failed. */
  parked: { error: TransferError; request: unknown; index?: number }[];
}

async function runEvent(
  origin: EventOrigin,
  payload: unknown,
  dependencies: Dependencies,
  run: InvocationRun,
) {
  const ran = await runPayload(payload, dependencies, run.deadline);
  const failed = ran.parked.map(({ error, request, index }) =>
    parkedItem(error, request, index, origin, run.requestId),
  );
  if (failed.length > 0) {
    const first = (ran.parked[0] as Ran["parked"][number]).error;
    if (!dependencies.failureQueueUrl) {
      throw new TransferError(first.code, {
        detail: `${failed.length} item(s) failed and no FAILURE_QUEUE_URL is configured to keep them`,
      });
    }
    // If the queue cannot take them, throwing lets Lambda retry the event rather than lose the items.
    await dependencies.sendFailures(dependencies.failureQueueUrl, failed);
  }
  const summary: EventSummary = {
    succeeded: ran.total - failed.length,
    failed: failed.length,
    requestId: run.requestId,
  };
  if (origin.eventId) summary.eventId = origin.eventId;
  return { summary, log: ran.log };
}

async function runPayload(payload: unknown, dependencies: Dependencies, deadline: number): Promise<Ran> {
  let input: ReturnType<typeof requireTransferInput>;
  try {
    input = requireTransferInput(payload);
  } catch (error) {
    const failure = asTransferError(error);
    return { total: 1, log: failureFields(failure), parked: [{ error: failure, request: payload }] };
  }
  const described = inputFields(input, dependencies.service);
  let ran: InputOutcome;
  try {
    ran = await runTransferInput(input, dependencies.service, deadline);
  } catch (error) {
    // Never thrown: a throw makes Lambda run the event again, sending what already ran. Every item is
    // parked (a batch's items normally fail inside its outcome; a batch throws only before any call).
    const failure = parkedFailure(error);
    const log = { ...described, ...failureFields(failure) };
    if (input.kind === "single") return { total: 1, log, parked: [{ error: failure, request: payload }] };
    const parked = input.requests.map((_, index) => ({
      error: failure,
      request: callerItem(payload, index),
      index,
    }));
    return { total: input.requests.length, log, parked };
  }
  const log = { ...described, ...outcomeFields(ran).log };
  if (ran.kind === "single") return { total: 1, log, parked: [] };
  const parked = ran.outcome.items.flatMap((item, index) =>
    item.ok ? [] : [{ error: item.error, request: callerItem(payload, index), index }],
  );
  return { total: ran.requests.length, log, parked };
}

/**
 * Our own problems as they are; anything else is a bug that may have struck after a call to Bitrix24
 * was sent, so what it interrupted is unknown rather than safe to send again.
 */
function parkedFailure(error: unknown): TransferError {
  if (error instanceof TransferError || error instanceof ConfigError) return asTransferError(error);
  logUnexpectedFailure(error);
  return interruptedOutcome();
}

/**
 * The request is parked exactly as the caller sent it (not our internal form), so it replays as-is
 * through HTTP, a direct invocation or an event.
 */
function parkedItem(
  error: TransferError,
  request: unknown,
  index: number | undefined,
  origin: EventOrigin,
  requestId: string,
): FailedItem {
  return {
    code: error.code,
    outcomeUnknown: error.code === "OUTCOME_UNKNOWN",
    problem: { ...toProblemDocument(error, requestId) },
    request: withoutWrittenMessage(request, error),
    ...(index === undefined ? {} : { index }),
    origin: { ...origin },
    requestId,
    failedAt: new Date().toISOString(),
  };
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
