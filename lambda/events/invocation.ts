import * as z from "zod/mini";
import { IDEMPOTENCY_KEY_PATTERN } from "../domain/idempotency-key-pattern.ts";
import { isRecord } from "../domain/is-record.ts";
import { TRANSFER_DETAIL_TYPE } from "../names.ts";
import { type HttpRequest, isHttpApiEvent, isRestApiEvent, toHttpRequest } from "./api-gateway.ts";

/**
 * What invoked the function. Event shapes are told apart with small checks of our own: the Powertools
 * parser would bring ~450 KB of classic zod into the bundle.
 */
export type Invocation =
  | { kind: "http"; request: HttpRequest }
  /** Asynchronous: EventBridge delivered it and may deliver it again; failures go to the failure queue. */
  | { kind: "event"; origin: EventOrigin; payload: unknown }
  /**
   * `aws lambda invoke` or any caller passing the request itself, or `{idempotencyKey, request}` to
   * run it at most once (what `npm run replay-failures` sends).
   */
  | { kind: "direct"; payload: unknown; idempotencyKey?: string }
  | { kind: "unsupported"; detail: string };

export interface EventOrigin {
  type: "eventbridge" | "schedule";
  /** The EventBridge event id (or Scheduler execution id): the same on every redelivery. */
  eventId?: string;
  time?: string;
  /** The event's source, or the schedule's name. */
  name: string;
}

/**
 * The input our scheduled rules and schedules deliver: the request plus the triggering event's id and
 * time (an input transformer), so a redelivery can be recognised.
 */
export const scheduleEnvelopeSchema = z.strictObject({
  schedule: z.string().check(z.minLength(1)),
  eventId: z.optional(z.string()),
  eventTime: z.optional(z.string()),
  request: z.unknown(),
});

const directEnvelopeSchema = z.strictObject({
  idempotencyKey: z.string().check(z.regex(IDEMPOTENCY_KEY_PATTERN)),
  request: z.unknown(),
});

export function classifyInvocation(event: unknown, maxBodyBytes: number): Invocation {
  if (isHttpApiEvent(event) || isRestApiEvent(event)) {
    return { kind: "http", request: toHttpRequest(event, maxBodyBytes) };
  }
  if (!isRecord(event)) return { kind: "direct", payload: event };

  if (typeof event["detail-type"] === "string" && typeof event.source === "string" && "detail" in event) {
    return classifyEventBridge(event);
  }
  if ("schedule" in event && "request" in event) {
    const envelope = z.safeParse(scheduleEnvelopeSchema, event);
    if (!envelope.success) {
      return {
        kind: "unsupported",
        detail: "a schedule input must be {schedule, eventId?, eventTime?, request}",
      };
    }
    const { schedule, eventId, eventTime, request } = envelope.data;
    const origin: EventOrigin = { type: "schedule", name: schedule };
    if (eventId) origin.eventId = eventId;
    if (eventTime) origin.time = eventTime;
    return { kind: "event", origin, payload: request };
  }
  if ("idempotencyKey" in event && "request" in event) {
    const envelope = z.safeParse(directEnvelopeSchema, event);
    if (!envelope.success) {
      return {
        kind: "unsupported",
        detail:
          "a direct invocation with a key must be {idempotencyKey: 1-255 visible ASCII characters, request}",
      };
    }
    return { kind: "direct", payload: envelope.data.request, idempotencyKey: envelope.data.idempotencyKey };
  }
  if (Array.isArray(event.Records)) {
    return {
      kind: "unsupported",
      detail: "event source records (SQS, SNS, S3…) are not supported; send a transfer request",
    };
  }
  return { kind: "direct", payload: event };
}

function classifyEventBridge(event: Record<string, unknown>): Invocation {
  const detailType = event["detail-type"] as string;
  const source = event.source as string;
  if (detailType === TRANSFER_DETAIL_TYPE) {
    const origin: EventOrigin = { type: "eventbridge", name: source };
    if (typeof event.id === "string") origin.eventId = event.id;
    if (typeof event.time === "string") origin.time = event.time;
    return { kind: "event", origin, payload: event.detail };
  }
  if (detailType === "Scheduled Event") {
    const rule =
      Array.isArray(event.resources) && typeof event.resources[0] === "string"
        ? event.resources[0]
        : "unknown rule";
    return {
      kind: "unsupported",
      detail: `the scheduled rule ${rule} invoked the function without input; give it the input {"schedule", "eventId", "eventTime", "request"} (the stack's schedules do)`,
    };
  }
  return {
    kind: "unsupported",
    detail: `EventBridge event "${detailType.slice(0, 100)}" from ${source.slice(0, 100)} is not a transfer request; use detail-type "${TRANSFER_DETAIL_TYPE}"`,
  };
}
