import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { sendToFailureQueue } from "../lambda/aws/failure-queue.ts";
import { errorPolicy } from "../lambda/bitrix24/error-policy.ts";
import { refusal } from "../lambda/bitrix24/refusal.ts";
import { loadConfig } from "../lambda/config.ts";
import { createHandler } from "../lambda/handlers/transfer-handler.ts";
import { createTransferService } from "../lambda/service/transfer-service.ts";
import { lambdaContext } from "../scripts/local-api.ts";
import { scheduleInput, transferRequestedEvent } from "./support/eventbridge.ts";
import { httpApiEvent } from "./support/events.ts";
import { MAIN_SECRET, useBundleHarness } from "./support/harness.ts";
import { type HostileUpstream, startHostileUpstream } from "./support/hostile-upstream.ts";

/**
 * Issue 24, item 0: Bitrix24's error codes are free-form strings, and one named like an
 * `Object.prototype` member used to be looked up as the inherited function: `new TransferError(undefined)`
 * threw, a single request got 500 and a scheduled batch threw, so Lambda ran it again and re-sent a
 * transfer that had run. Every such name is an unknown code now, and an asynchronous invocation never
 * throws once a call was sent.
 */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

describe("the error table is looked up by its own keys only", () => {
  it("covers every Object.prototype name (the list is what the runtime has)", () => {
    expect(PROTOTYPE_NAMES).toEqual(expect.arrayContaining(["constructor", "__proto__", "toString"]));
  });

  it.each(PROTOTYPE_NAMES)("%s is an unknown code: the status decides", (name) => {
    expect(errorPolicy(400, name)).toEqual(errorPolicy(400, "SOMETHING_NEW"));
    expect(errorPolicy(500, name)).toEqual(errorPolicy(500, "SOMETHING_NEW"));
    expect(errorPolicy(429, name)).toEqual(errorPolicy(429, "SOMETHING_NEW"));
    const { error, retry, outcomeUnknown } = refusal(400, { error: name }, false);
    expect([error.code, error.status, retry, outcomeUnknown]).toEqual(["UPSTREAM_ERROR", 502, false, false]);
    expect(error.details.bitrix24).toEqual({ error: name });
    expect(refusal(0, { error: name }, false).error.code).toBe("UPSTREAM_ERROR");
  });
});

const h = useBundleHarness();
const context = () => lambdaContext(28_000);
const queued = () => (h.secrets.messages.get(h.secrets.queueUrl) ?? []) as Record<string, unknown>[];
let upstream: HostileUpstream;

beforeAll(async () => {
  upstream = await startHostileUpstream();
});
afterAll(() => upstream.close());
afterEach(() => vi.restoreAllMocks());

describe("a portal answering with an Object.prototype name as its error code", () => {
  beforeEach(() => {
    upstream.requests.length = 0;
    h.secrets.put(
      MAIN_SECRET,
      JSON.stringify({ webhookUrl: `${upstream.url}/rest/1/c0de/`, clientId: "b24-transfer-demo" }),
    );
  });

  it.each(PROTOTYPE_NAMES)("%s: a single request gets a clear problem, sent once", async (name) => {
    upstream.answer(() => ({ status: 400, body: JSON.stringify({ error: name, error_description: "" }) }));
    const result = (await h.newHandler()(
      // Without the guard's read, so that the code is the transfer's answer.
      httpApiEvent({ body: JSON.stringify({ chatId: 112, operatorId: 12, guard: false }) }),
      context(),
    )) as APIGatewayProxyStructuredResultV2;
    const body = JSON.parse(result.body ?? "null");
    expect([result.statusCode, body.code, body.bitrix24?.error]).toEqual([502, "UPSTREAM_ERROR", name]);
    expect(body.detail).toBe(`Bitrix24 failed with ${name}`);
    expect(upstream.requests).toHaveLength(1);
  });

  it.each(PROTOTYPE_NAMES)(
    "%s: a scheduled batch does not throw, the transfer that ran is not sent again, the other is parked",
    async (name) => {
      upstream.answer(() => ({
        status: 200,
        body: JSON.stringify({
          result: { result: { t0: true }, result_error: { t1: { error: name, error_description: "" } } },
        }),
      }));
      const summary = await h.newHandler()(
        scheduleInput({
          // Without the guard's read batch, so that the scripted answer is the transfer batch's.
          transfers: [
            { chatId: 112, operatorId: 12, guard: false },
            { chatId: 113, operatorId: 12, guard: false },
          ],
        }),
        context(),
      );
      expect(summary).toMatchObject({ succeeded: 1, failed: 1 });
      expect(upstream.requests).toHaveLength(1);
      expect(queued()).toMatchObject([
        { index: 1, code: "UPSTREAM_ERROR", outcomeUnknown: false, request: { chatId: 113 } },
      ]);
    },
  );
});

describe("an unexpected error after a batch round ran", () => {
  const transfers = [
    { chatId: 112, operatorId: 12 },
    { chatId: 113, operatorId: 12 },
  ];

  it("inside the batch driver: what ran ran once, the rest is parked, nothing throws", async () => {
    // Round 1 transfers chat 112; chat 113 meets its queue lock (nothing ran) and waits 500 ms for a
    // second round. The wait itself fails: an error that is no refusal of Bitrix24.
    h.sim.holdLock(113);
    const realSetTimeout = globalThis.setTimeout;
    vi.spyOn(globalThis, "setTimeout").mockImplementation(((callback: () => void, ms?: number) => {
      if (ms === 500) throw new TypeError("injected: an unexpected error between rounds");
      return realSetTimeout(callback, ms);
    }) as typeof setTimeout);

    const summary = await h.newHandler()(transferRequestedEvent({ transfers }), context());

    expect(summary).toMatchObject({ succeeded: 1, failed: 1 });
    expect(h.sim.ledger.map((record) => record.chatId)).toEqual([112]);
    // The guard's read batch, then the one transfer batch: the failed wait sent nothing more.
    expect(h.sim.hits.filter((hit) => hit.method === "batch")).toHaveLength(2);
    // 113 certainly did not run: its refusal stands, and a replay may send it.
    expect(queued()).toMatchObject([
      {
        index: 1,
        code: "TRANSFER_REJECTED",
        outcomeUnknown: false,
        request: { chatId: 113 },
        problem: { bitrix24: { error: "OPERATOR_WRONG" } },
      },
    ]);
  });

  it("at the event path's edge: every item not known to be done is parked as unknown, nothing throws", async () => {
    // The real service, but the batch's outcome is lost to a bug after Bitrix24 ran it.
    const service = createTransferService(
      loadConfig({
        PORTALS: JSON.stringify({ main: MAIN_SECRET }),
        DEFAULT_PORTAL: "main",
        ALLOW_HTTP_LOOPBACK: "true",
      }),
    );
    const handler = createHandler({
      dependencies: () => ({
        service: {
          ...service,
          transferBatch: async (requests, deadline) => {
            await service.transferBatch(requests, deadline);
            throw new TypeError("injected: the outcome is lost");
          },
        },
        failureQueueUrl: h.secrets.queueUrl,
        sendFailures: sendToFailureQueue,
      }),
    });

    const summary = await handler(transferRequestedEvent({ transfers }), context());

    expect(summary).toMatchObject({ succeeded: 0, failed: 2 });
    expect(h.sim.ledger.map((record) => record.chatId)).toEqual([112, 113]);
    expect(queued()).toMatchObject([
      { index: 0, code: "OUTCOME_UNKNOWN", outcomeUnknown: true, request: { chatId: 112 } },
      { index: 1, code: "OUTCOME_UNKNOWN", outcomeUnknown: true, request: { chatId: 113 } },
    ]);
  });
});
