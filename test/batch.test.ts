import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { scheduledEvent, scheduleInput, transferRequestedEvent } from "./support/eventbridge.ts";
import { httpApiEvent } from "./support/events.ts";
import { MAIN_SECRET, useBundleHarness } from "./support/harness.ts";

const h = useBundleHarness();
const context = () => lambdaContext(28_000);

async function post(body: unknown) {
  const result = (await h.newHandler()(
    httpApiEvent({ body: JSON.stringify(body) }),
    context(),
  )) as APIGatewayProxyStructuredResultV2;
  return {
    status: result.statusCode,
    headers: result.headers ?? {},
    body: JSON.parse(result.body ?? "null"),
  };
}

const toOperator = (chatId: number, operatorId = 12) => ({ chatId, operatorId });
const batchHits = () => h.sim.hits.filter((hit) => hit.method === "batch");
const queued = () => h.secrets.messages.get(h.secrets.queueUrl) ?? [];

describe("batch transfers over HTTP", () => {
  it("sends up to 50 transfers as one Bitrix24 batch hit, after one for the guard's reads, and answers 200 in order", async () => {
    const response = await post({
      transfers: [toOperator(112), { chatId: 113, queueId: 3 }, toOperator(114, 14)],
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      succeeded: 3,
      failed: 0,
      results: [
        { transferred: true, chatId: 112, target: { operatorId: 12 }, portal: "main" },
        { transferred: true, chatId: 113, target: { queueId: 3 } },
        { transferred: true, chatId: 114, target: { operatorId: 14 } },
      ],
    });
    // The guard's reads, then the transfers: no call of its own per chat.
    expect(batchHits()).toHaveLength(2);
    expect(h.sim.hits).toHaveLength(2);
    expect(h.sim.ledger.map((r) => r.chatId)).toEqual([112, 113, 114]);
  });

  it("answers 207 with a problem per failed item, decided by each command's own entry", async () => {
    const response = await post({
      transfers: [toOperator(112), toOperator(113, 13), toOperator(99999), toOperator(114)],
    });
    expect(response.status).toBe(207);
    expect(response.body.succeeded).toBe(2);
    expect(response.body.failed).toBe(2);
    expect(response.body.results[1]).toMatchObject({
      transferred: false,
      chatId: 113,
      problem: { code: "TRANSFER_REJECTED", status: 422, bitrix24: { error: "OPERATOR_WRONG" } },
    });
    // No chat 99999: the guard's read meets ACCESS_ERROR, and no transfer is sent for it.
    expect(response.body.results[2]).toMatchObject({
      transferred: false,
      problem: { code: "CHAT_NOT_READABLE", bitrix24: { error: "ACCESS_ERROR" } },
    });
    expect(h.sim.ledger.map((r) => r.chatId)).toEqual([112, 114]);
  });

  it("answers with the single problem when the whole call failed", async () => {
    h.secrets.put(MAIN_SECRET, JSON.stringify({ webhookUrl: "REPLACE_ME" }));
    const response = await post({ transfers: [toOperator(112), toOperator(113)] });
    expect(response.status).toBe(502);
    expect(response.body.code).toBe("PORTAL_MISCONFIGURED");
  });

  it("retries the batch hit when the portal is rate-limiting", async () => {
    h.sim.injectFault({ kind: "error", status: 503, error: "QUERY_LIMIT_EXCEEDED" }, { method: "batch" });
    const response = await post({ transfers: [toOperator(112), toOperator(113)] });
    expect(response.status).toBe(200);
    // The guard's read batch refused once and sent again, then the transfers' batch.
    expect(batchHits()).toHaveLength(3);
    expect(h.sim.ledger).toHaveLength(2);
  });

  it.each([
    ["an empty list", { transfers: [] }, "transfers"],
    ["51 items", { transfers: Array.from({ length: 51 }, (_, i) => toOperator(i + 1)) }, "transfers"],
    ["the same chat twice", { transfers: [toOperator(112), toOperator(112, 14)] }, "transfers.1.chatId"],
    [
      "a misspelt field in one item",
      { transfers: [toOperator(112), { chatId: 113, operatorID: 12 }] },
      "transfers.1.operatorID",
    ],
    ["an extra top-level field", { transfers: [toOperator(112)], halt: 1 }, "halt"],
  ])("refuses %s before calling Bitrix24", async (_name, body, path) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("VALIDATION_FAILED");
    expect(response.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(h.sim.hits).toHaveLength(0);
  });

  it("refuses a batch naming an unknown portal before calling Bitrix24", async () => {
    const response = await post({ transfers: [toOperator(112), { ...toOperator(113), portal: "nope" }] });
    expect([response.status, response.body.code]).toEqual([404, "UNKNOWN_PORTAL"]);
    expect(response.body.detail).toContain("transfers.1");
    expect(h.sim.hits).toHaveLength(0);
  });

  // Issue 14, finding 2: the duplicate check ran before the default portal was filled in.
  it("refuses one chat named twice, once through the default portal and once by name", async () => {
    const response = await post({ transfers: [toOperator(115), { ...toOperator(115, 13), portal: "main" }] });
    expect([response.status, response.body.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(response.body.errors).toEqual([
      { path: "transfers.1.chatId", message: "chat 115 is already transferred by transfers.0" },
    ]);
    expect(h.sim.hits).toHaveLength(0);
  });
});

describe("batch transfers invoked directly", () => {
  it("returns the per-item answer", async () => {
    const result = await h.newHandler()({ transfers: [toOperator(112), toOperator(113, 13)] }, context());
    expect(result).toMatchObject({ succeeded: 1, failed: 1 });
  });

  it("throws the shared error when the whole call failed", async () => {
    h.sim.injectFault({ kind: "error", status: 401, error: "INVALID_CREDENTIALS" }, { times: Infinity });
    await expect(h.newHandler()({ transfers: [toOperator(112)] }, context())).rejects.toMatchObject({
      name: "PORTAL_MISCONFIGURED",
    });
  });
});

describe("EventBridge events: nothing lost, nothing twice", () => {
  it("transfers every item once and parks each failed item, with its reason, in the failure queue", async () => {
    const items = [
      ...Array.from({ length: 9 }, (_, i) => toOperator(112 + i)),
      toOperator(121, 13),
      toOperator(99999),
    ];
    const summary = await h.newHandler()(transferRequestedEvent({ transfers: items }), context());
    expect(summary).toMatchObject({
      succeeded: 9,
      failed: 2,
      eventId: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    });

    const transferred = h.sim.ledger.map((r) => r.chatId);
    const parked = queued() as {
      index: number;
      code: string;
      request: { chatId: number };
      origin: { eventId: string };
    }[];
    expect(new Set(transferred).size).toBe(transferred.length);
    // 121 is with operator 12 (the guard refuses it); no chat 99999 exists (its read is refused).
    expect(parked.map((m) => [m.index, m.code, m.request.chatId])).toEqual([
      [9, "CHAT_NOT_WITH_BOT", 121],
      [10, "CHAT_NOT_READABLE", 99999],
    ]);
    expect(parked.every((m) => m.origin.eventId === "6a7e8feb-b491-4cf7-a9f1-bf3703467718")).toBe(true);
    // Every item is accounted for exactly once: transferred or parked.
    expect([...transferred, ...parked.map((m) => m.request.chatId)].sort()).toEqual(
      items.map((i) => i.chatId).sort(),
    );
  });

  it("parks a single failed request instead of throwing, so Lambda does not retry what is decided", async () => {
    h.sim.injectFault({ kind: "error", status: 429, error: "OPERATION_TIME_LIMIT" });
    const summary = await h.newHandler()(transferRequestedEvent(toOperator(112)), context());
    expect(summary).toMatchObject({ succeeded: 0, failed: 1 });
    expect(queued()).toMatchObject([{ code: "RATE_LIMITED", request: { chatId: 112 } }]);
  });

  it("parks an invalid detail without calling Bitrix24", async () => {
    const summary = await h.newHandler()(transferRequestedEvent({ chatId: 112, operatorID: 12 }), context());
    expect(summary).toMatchObject({ succeeded: 0, failed: 1 });
    expect(queued()).toMatchObject([{ code: "VALIDATION_FAILED", request: { chatId: 112, operatorID: 12 } }]);
    expect(h.sim.hits).toHaveLength(0);
  });

  it("throws when the failure queue cannot take the failed items, so Lambda retries the event", async () => {
    h.secrets.failNext("AWS.SimpleQueueService.NonExistentQueue", 5);
    await expect(h.newHandler()(transferRequestedEvent(toOperator(112, 13)), context())).rejects.toThrow();
  });

  it("runs a schedule's input with the triggering event's id", async () => {
    const summary = await h.newHandler()(
      scheduleInput({ transfers: [toOperator(112), toOperator(113)] }),
      context(),
    );
    expect(summary).toMatchObject({
      succeeded: 2,
      failed: 0,
      eventId: "890abcde-f123-4567-890a-bcdef1234567",
    });
    expect(h.sim.ledger).toHaveLength(2);
  });

  it("fails a scheduled rule without input with an error naming the rule", async () => {
    await expect(h.newHandler()(scheduledEvent(), context())).rejects.toMatchObject({
      name: "UNSUPPORTED_EVENT",
      message: expect.stringContaining("rule/SampleRule"),
    });
    expect(h.sim.hits).toHaveLength(0);
  });
});

describe("events naming an unknown portal", () => {
  it("parks the items instead of failing the invocation", async () => {
    const summary = await h.newHandler()(
      transferRequestedEvent({ chatId: 112, operatorId: 12, portal: "nope" }),
      context(),
    );
    expect(summary).toMatchObject({ succeeded: 0, failed: 1 });
    expect(queued()).toMatchObject([{ code: "UNKNOWN_PORTAL" }]);
  });

  // Issue 24: a batch refused before any call is parked item by item, with its own problem (nothing ran,
  // so not OUTCOME_UNKNOWN), instead of a throw that Lambda would retry.
  it("parks every item of a batch one of whose items names an unknown portal, without calling Bitrix24", async () => {
    const summary = await h.newHandler()(
      transferRequestedEvent({ transfers: [toOperator(112), { ...toOperator(113), portal: "nope" }] }),
      context(),
    );
    expect(summary).toMatchObject({ succeeded: 0, failed: 2 });
    expect(queued()).toMatchObject([
      { index: 0, code: "UNKNOWN_PORTAL", outcomeUnknown: false, request: { chatId: 112 } },
      { index: 1, code: "UNKNOWN_PORTAL", outcomeUnknown: false, request: { chatId: 113, portal: "nope" } },
    ]);
    expect(h.sim.hits).toHaveLength(0);
  });
});
