import { describe, expect, it } from "vitest";
import { classifyInvocation } from "../lambda/events/invocation.ts";
import { MAX_BODY_BYTES } from "../lambda/handlers/http/read-request.ts";
import { scheduledEvent, scheduleInput, transferRequestedEvent } from "./support/eventbridge.ts";
import { httpApiEvent, restApiEvent } from "./support/events.ts";

const classify = (event: unknown) => classifyInvocation(event, MAX_BODY_BYTES);
const request = { chatId: 112, operatorId: 12 };

describe("telling invocations apart", () => {
  it("recognises both API Gateway payload versions", () => {
    expect(classify(httpApiEvent({ body: "{}" })).kind).toBe("http");
    expect(classify(restApiEvent({ body: "{}" })).kind).toBe("http");
  });

  it("takes a Transfer Requested event's detail with its id for deduplication", () => {
    expect(classify(transferRequestedEvent(request))).toEqual({
      kind: "event",
      origin: {
        type: "eventbridge",
        name: "com.example.crm",
        eventId: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        time: "2026-11-25T18:00:00Z",
      },
      payload: request,
    });
  });

  it("takes a schedule's input with the triggering event's id", () => {
    expect(classify(scheduleInput(request))).toEqual({
      kind: "event",
      origin: {
        type: "schedule",
        name: "night-shift",
        eventId: "890abcde-f123-4567-890a-bcdef1234567",
        time: "2016-12-30T18:44:49Z",
      },
      payload: request,
    });
  });

  it("refuses a bare scheduled event (a rule without input), naming the rule", () => {
    const invocation = classify(scheduledEvent());
    expect(invocation.kind).toBe("unsupported");
    expect(invocation.kind === "unsupported" && invocation.detail).toContain(
      "arn:aws:events:us-east-1:123456789012:rule/SampleRule",
    );
  });

  it("refuses other EventBridge events instead of guessing", () => {
    const event = {
      ...transferRequestedEvent(request),
      "detail-type": "EC2 Instance State-change Notification",
      source: "aws.ec2",
    };
    expect(classify(event)).toMatchObject({ kind: "unsupported" });
  });

  it("refuses a schedule envelope with extra keys", () => {
    expect(classify({ ...scheduleInput(request), extra: 1 })).toMatchObject({ kind: "unsupported" });
  });

  it("refuses SQS-style records", () => {
    expect(classify({ Records: [{ body: JSON.stringify(request) }] })).toMatchObject({ kind: "unsupported" });
  });

  it("reads {idempotencyKey, request} as a direct invocation that runs at most once", () => {
    expect(classify({ idempotencyKey: "replay:m-1", request })).toEqual({
      kind: "direct",
      payload: request,
      idempotencyKey: "replay:m-1",
    });
    expect(classify({ idempotencyKey: "has space", request })).toMatchObject({ kind: "unsupported" });
    expect(classify({ idempotencyKey: "k", request, extra: 1 })).toMatchObject({ kind: "unsupported" });
  });

  it("treats anything else as a direct invocation whose payload is the request", () => {
    expect(classify(request)).toEqual({ kind: "direct", payload: request });
    expect(classify({ transfers: [request] })).toEqual({ kind: "direct", payload: { transfers: [request] } });
    expect(classify("text")).toEqual({ kind: "direct", payload: "text" });
  });
});
