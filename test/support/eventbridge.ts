import { readFileSync } from "node:fs";

/** The real scheduled-event sample AWS delivers for a rule without input. */
export const scheduledEvent = () =>
  JSON.parse(
    readFileSync(new URL("../fixtures/events/eventbridge-scheduled-event.json", import.meta.url), "utf8"),
  ) as Record<string, unknown>;

/**
 * A custom event as EventBridge delivers it to a Lambda target (the documented envelope): our detail-type,
 * the caller's source, the request or batch as `detail`.
 */
export function transferRequestedEvent(detail: unknown, id = "6a7e8feb-b491-4cf7-a9f1-bf3703467718") {
  return {
    version: "0",
    id,
    "detail-type": "Transfer Requested",
    source: "com.example.crm",
    account: "123456789012",
    time: "2026-11-25T18:00:00Z",
    region: "eu-central-1",
    resources: [],
    detail,
  };
}

/** What our scheduled rules deliver: the input transformer puts the event's id and time beside the request. */
export function scheduleInput(request: unknown, schedule = "night-shift") {
  return {
    schedule,
    eventId: "890abcde-f123-4567-890a-bcdef1234567",
    eventTime: "2016-12-30T18:44:49Z",
    request,
  };
}
