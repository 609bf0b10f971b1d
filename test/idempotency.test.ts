import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { startDynamo } from "../scripts/local-dynamodb.ts";
import { transferRequestedEvent } from "./support/eventbridge.ts";
import { httpApiEvent, iamHttpApiEvent } from "./support/events.ts";
import { useBundleHarness } from "./support/harness.ts";

const TABLE = "b24-transfer-idempotency";
const h = useBundleHarness({ IDEMPOTENCY_TABLE: TABLE });
let dynamo: Awaited<ReturnType<typeof startDynamo>>;

beforeAll(async () => {
  dynamo = await startDynamo(TABLE);
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.url;
});
afterAll(() => dynamo.close());

let keys = 0;
const newKey = () => `key-${Date.now()}-${keys++}`;
const body = (chatId = 112, operatorId = 12) => JSON.stringify({ chatId, operatorId });

async function post(
  handler: ReturnType<typeof h.newHandler>,
  key: string | undefined,
  payload: string,
  client?: string,
) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key !== undefined) headers["idempotency-key"] = key;
  const result = (await handler(
    httpApiEvent({ body: payload, headers, ...(client ? { client } : {}) }),
    lambdaContext(28_000),
  )) as APIGatewayProxyStructuredResultV2;
  return {
    status: result.statusCode,
    headers: result.headers ?? {},
    body: JSON.parse(result.body ?? "null"),
  };
}

describe("Idempotency-Key over HTTP (DynamoDB on dynalite)", () => {
  it("replays the original response without calling Bitrix24 again", async () => {
    const handler = h.newHandler();
    const key = newKey();
    const first = await post(handler, key, body());
    const second = await post(h.newHandler(), key, body());
    expect(first.status).toBe(200);
    expect(second).toMatchObject({
      status: 200,
      body: first.body,
      headers: { "idempotent-replayed": "true" },
    });
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    expect(h.sim.ledger).toHaveLength(1);
  });

  it("treats a digit string and a number as the same request", async () => {
    const key = newKey();
    await post(h.newHandler(), key, body());
    const again = await post(h.newHandler(), key, JSON.stringify({ chatId: "112", operatorId: 12 }));
    expect(again.status).toBe(200);
    expect(h.sim.ledger).toHaveLength(1);
  });

  it("refuses the same key with a different body", async () => {
    const key = newKey();
    await post(h.newHandler(), key, body(112));
    const reused = await post(h.newHandler(), key, body(113));
    expect([reused.status, reused.body.code]).toEqual([422, "IDEMPOTENCY_KEY_REUSED"]);
    expect(h.sim.ledger.map((r) => r.chatId)).toEqual([112]);
  });

  it("makes exactly one Bitrix24 call for concurrent duplicates", async () => {
    h.sim.injectFault({ kind: "latency", ms: 300 });
    const key = newKey();
    const responses = await Promise.all(Array.from({ length: 5 }, () => post(h.newHandler(), key, body())));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(4);
    expect(responses.find((r) => r.status === 409)?.headers["retry-after"]).toBe("1");
    expect(h.sim.hits.filter((hit) => hit.method === "imopenlines.bot.session.transfer")).toHaveLength(1);
    // Once the first finished, a retry gets its answer.
    expect((await post(h.newHandler(), key, body())).status).toBe(200);
    expect(h.sim.ledger).toHaveLength(1);
  });

  it("stores a failure after the hand-over's message was written: a retry never writes it twice", async () => {
    const key = newKey();
    const request = JSON.stringify({ chatId: 115, operatorId: 13, message: "Соединяю 👩‍💻" });
    const first = await post(h.newHandler(), key, request);
    expect([first.status, first.body.code, first.body.message]).toEqual([
      422,
      "TRANSFER_REJECTED",
      { sent: true },
    ]);
    const retry = await post(h.newHandler(), key, request);
    expect([retry.status, retry.body.code, retry.headers["idempotent-replayed"]]).toEqual([
      422,
      "TRANSFER_REJECTED",
      "true",
    ]);
    expect(retry.headers["content-type"]).toBe("application/problem+json");
    expect(h.sim.messages).toHaveLength(1);
  });

  it("does not store an unknown outcome: the caller must look, then may retry with the key", async () => {
    h.sim.injectFault({ kind: "reset" }, { method: "imopenlines.bot.session.transfer", executes: true });
    const key = newKey();
    // Within chat 112's own line (3) the read cannot settle it: it stays unknown.
    const sameLine = JSON.stringify({ chatId: 112, queueId: 3 });
    expect((await post(h.newHandler(), key, sameLine)).body.code).toBe("OUTCOME_UNKNOWN");
    expect((await post(h.newHandler(), key, sameLine)).status).toBe(200);
    expect(h.sim.ledger).toHaveLength(2);
  });

  it("does not store a failure, so the same key can be retried", async () => {
    h.sim.injectFault({ kind: "error", status: 429, error: "OPERATION_TIME_LIMIT" });
    const key = newKey();
    expect((await post(h.newHandler(), key, body())).status).toBe(503);
    expect((await post(h.newHandler(), key, body())).status).toBe(200);
    expect(h.sim.ledger).toHaveLength(1);
  });

  it("keeps keys of different clients apart", async () => {
    const key = newKey();
    await post(h.newHandler(), key, body(112), "crm");
    const other = await post(h.newHandler(), key, body(113), "telephony");
    expect(other.status).toBe(200);
    expect(h.sim.ledger.map((r) => r.chatId)).toEqual([112, 113]);
  });

  // Issue 14, finding 3: under IAM authorization every caller shared the scope "-".
  it("keeps keys of different IAM principals apart", async () => {
    const signed = (userArn: string, idempotencyKey: string, payload: string) =>
      h.newHandler()(
        iamHttpApiEvent(userArn, {
          body: payload,
          headers: { "content-type": "application/json", "idempotency-key": idempotencyKey },
        }),
        lambdaContext(28_000),
      ) as Promise<APIGatewayProxyStructuredResultV2>;
    const crm = "arn:aws:iam::111122223333:role/crm";
    const telephony = "arn:aws:iam::111122223333:role/telephony";
    const key = newKey();
    await signed(crm, key, body(112));
    // Another principal neither reads the first one's stored answer...
    const replay = await signed(telephony, key, body(112));
    expect(replay.headers?.["idempotent-replayed"]).toBeUndefined();
    // It ran: the guard read chat 112, now with operator 12, and refused it.
    expect(JSON.parse(replay.body ?? "{}").code).toBe("CHAT_NOT_WITH_BOT");
    // ...nor is blocked by its key.
    const second = newKey();
    await signed(crm, second, body(113));
    const other = await signed(telephony, second, body(113, 13));
    expect(JSON.parse(other.body ?? "{}").code).not.toBe("IDEMPOTENCY_KEY_REUSED");
    // The same principal again is a replay.
    const again = await signed(crm, key, body(112));
    expect(again.headers?.["idempotent-replayed"]).toBe("true");
    // Chat 113 is with operator 12 by then: the guard refused it, but it was tried rather than blocked.
    expect(JSON.parse(other.body ?? "{}").code).toBe("CHAT_NOT_WITH_BOT");
    expect(h.sim.ledger.map((r) => r.chatId)).toEqual([112, 113]);
  });

  it("refuses a malformed key before doing anything", async () => {
    const response = await post(h.newHandler(), "has space", body());
    expect([response.status, response.body.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(h.sim.hits).toHaveLength(0);
  });

  it("needs the table only for requests that carry a key", async () => {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = "http://127.0.0.1:1";
    try {
      expect((await post(h.newHandler(), undefined, body(112))).status).toBe(200);
      const keyed = await post(h.newHandler(), newKey(), body(113));
      expect([keyed.status, keyed.body.code]).toEqual([503, "IDEMPOTENCY_UNAVAILABLE"]);
      expect(h.sim.ledger.map((r) => r.chatId)).toEqual([112]);
    } finally {
      process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.url;
    }
  });
});

describe("EventBridge redelivery", () => {
  it("runs an event once however often it is delivered", async () => {
    const event = transferRequestedEvent(
      {
        transfers: [
          { chatId: 112, operatorId: 12 },
          { chatId: 113, operatorId: 13 },
        ],
      },
      newKey(),
    );
    const first = await h.newHandler()(event, lambdaContext(28_000));
    const second = await h.newHandler()(event, lambdaContext(28_000));
    expect(second).toEqual(first);
    expect(h.sim.ledger).toHaveLength(1);
    expect(h.secrets.messages.get(h.secrets.queueUrl)).toHaveLength(1);
  });
});
