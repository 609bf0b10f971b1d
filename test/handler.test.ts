import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { httpApiEvent, restApiEvent } from "./support/events.ts";
import { MAIN_SECRET, useBundleHarness } from "./support/harness.ts";

const h = useBundleHarness();
const ok = JSON.stringify({ chatId: 112, operatorId: 12 });

async function invokeHttp(event: unknown, timeoutMs = 28_000) {
  const result = (await h.newHandler()(event, lambdaContext(timeoutMs))) as APIGatewayProxyStructuredResultV2;
  return {
    status: result.statusCode,
    headers: result.headers ?? {},
    body: JSON.parse(result.body ?? "null"),
  };
}

function expectProblem(response: Awaited<ReturnType<typeof invokeHttp>>, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers["content-type"]).toBe("application/problem+json");
  expect(response.body).toMatchObject({ type: `urn:b24-transfer:problem:${code}`, status, code });
  expect(typeof response.body.title).toBe("string");
  expect(typeof response.body.detail).toBe("string");
  expect(typeof response.body.requestId).toBe("string");
}

describe("the deployable bundle behind API Gateway", () => {
  it("transfers a chat from an HTTP API event and answers 200", async () => {
    const response = await invokeHttp(httpApiEvent({ body: ok }));
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json");
    expect(response.body).toEqual({
      transferred: true,
      chatId: 112,
      target: { operatorId: 12 },
      leave: false,
      chat: { state: "withUser", userId: 12, botInChat: null },
      portal: "main",
      requestId: "ZhNHJhhLjoEEPiw=",
    });
    expect(h.sim.ledger).toMatchObject([{ chatId: 112, to: { userId: 12 }, leave: false }]);
  });

  it("transfers to a queue from a REST API event with a base64 body", async () => {
    const body = JSON.stringify({ chatId: "113", queueId: 3, leave: true });
    const response = await invokeHttp(restApiEvent({ body, base64: true }));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ chatId: 113, target: { queueId: 3 }, leave: true });
    expect(h.sim.ledger).toMatchObject([{ chatId: 113, to: { queueId: 3 }, leave: true }]);
  });

  it.each([
    ["malformed JSON", { body: "{" }, 400, "INVALID_JSON"],
    [
      "a schema violation",
      { body: JSON.stringify({ chatId: 112, operatorID: 12 }) },
      400,
      "VALIDATION_FAILED",
    ],
    [
      "a wrong content type",
      { body: ok, headers: { "content-type": "text/plain" } },
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    ],
    ["a body over 16 KiB", { body: ok.padEnd(16 * 1024 + 1) }, 413, "PAYLOAD_TOO_LARGE"],
    [
      "an unknown portal",
      { body: JSON.stringify({ chatId: 112, operatorId: 12, portal: "nope" }) },
      404,
      "UNKNOWN_PORTAL",
    ],
    ["a GET", { method: "GET" }, 405, "METHOD_NOT_ALLOWED"],
  ])("answers %s with a problem and never calls Bitrix24", async (_name, edit, status, code) => {
    const response = await invokeHttp(httpApiEvent(edit));
    expectProblem(response, status, code);
    expect(h.sim.hits).toHaveLength(0);
  });

  it("lists every field error with its path", async () => {
    const response = await invokeHttp(httpApiEvent({ body: JSON.stringify({ chatId: 0, operatorID: 12 }) }));
    expect(response.body.errors).toEqual([
      { path: "chatId", message: "chatId must be a positive integer" },
      { path: "operatorID", message: "unknown field operatorID" },
      { path: "operatorId", message: "exactly one of operatorId, queueId or anyOperator is required" },
    ]);
  });

  it("says 405 with an Allow header", async () => {
    const response = await invokeHttp(httpApiEvent({ method: "PUT", body: ok }));
    expect(response.headers.allow).toBe("POST");
  });

  it("reports Bitrix24's refusal as 422 with its error", async () => {
    const response = await invokeHttp(
      httpApiEvent({ body: JSON.stringify({ chatId: 112, operatorId: 13 }) }),
    );
    expectProblem(response, 422, "TRANSFER_REJECTED");
    expect(response.body.bitrix24).toMatchObject({ error: "OPERATOR_WRONG" });
    expect(h.sim.ledger).toHaveLength(0);
  });

  it("reports the placeholder secret as 502 PORTAL_MISCONFIGURED", async () => {
    h.secrets.put(MAIN_SECRET, JSON.stringify({ webhookUrl: "REPLACE_ME" }));
    expectProblem(await invokeHttp(httpApiEvent({ body: ok })), 502, "PORTAL_MISCONFIGURED");
    expect(h.sim.hits).toHaveLength(0);
  });

  it("reports a missing secret as 502 PORTAL_MISCONFIGURED", async () => {
    const response = await invokeHttp(
      httpApiEvent({ body: JSON.stringify({ chatId: 112, operatorId: 12, portal: "other" }) }),
    );
    expectProblem(response, 502, "PORTAL_MISCONFIGURED");
  });

  it("reports a throttled Secrets Manager as 503 CREDENTIALS_UNAVAILABLE", async () => {
    h.secrets.failNext("ThrottlingException", 10);
    const response = await invokeHttp(httpApiEvent({ body: ok }));
    expectProblem(response, 503, "CREDENTIALS_UNAVAILABLE");
    expect(response.headers["retry-after"]).toBe("2");
  });

  it("answers a lasting rate limit with 503 and Retry-After", async () => {
    h.sim.injectFault({ kind: "error", status: 503, error: "QUERY_LIMIT_EXCEEDED" }, { times: Infinity });
    const response = await invokeHttp(httpApiEvent({ body: ok }));
    expectProblem(response, 503, "RATE_LIMITED");
    expect(response.headers["retry-after"]).toBe("1");
    expect(response.body.bitrix24).toMatchObject({ error: "QUERY_LIMIT_EXCEEDED" });
  });

  it("answers before the Lambda deadline when Bitrix24 hangs, without sending the transfer again", async () => {
    h.sim.injectFault({ kind: "hang" }, { method: "imopenlines.bot.session.transfer", times: Infinity });
    const started = Date.now();
    expectProblem(await invokeHttp(httpApiEvent({ body: ok }), 2_000), 502, "OUTCOME_UNKNOWN");
    expect(h.sim.hits.filter((hit) => hit.method === "imopenlines.bot.session.transfer")).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(h.sim.ledger).toHaveLength(0);
  });

  it("answers 502 OUTCOME_UNKNOWN on an HTML page and on result:false where a read cannot settle it", async () => {
    // Chat 112 is on line 3: a move within its own line leaves no mark the read could see.
    const sameLine = JSON.stringify({ chatId: 112, queueId: 3 });
    const transfer = { method: "imopenlines.bot.session.transfer" };
    h.sim.injectFault({ kind: "html", status: 502 }, { ...transfer, times: Infinity });
    expectProblem(await invokeHttp(httpApiEvent({ body: sameLine })), 502, "OUTCOME_UNKNOWN");
    h.sim.clearFaults();
    h.sim.injectFault({ kind: "result-false" }, transfer);
    expectProblem(await invokeHttp(httpApiEvent({ body: sameLine })), 502, "OUTCOME_UNKNOWN");
    expect(h.sim.ledger).toHaveLength(0);
    expect(h.sim.hits.filter((hit) => hit.method === transfer.method)).toHaveLength(2);
  });

  it("serves concurrent invocations in one environment with one secret read", async () => {
    const handler = h.newHandler();
    const calls = h.secrets.calls.get(MAIN_SECRET) ?? 0;
    const responses = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        handler(
          httpApiEvent({ body: JSON.stringify({ chatId: 112 + i, operatorId: 12 }) }),
          lambdaContext(28_000),
        ),
      ),
    );
    expect(responses.map((r) => (r as APIGatewayProxyStructuredResultV2).statusCode)).toEqual(
      Array(9).fill(200),
    );
    expect((h.secrets.calls.get(MAIN_SECRET) ?? 0) - calls).toBe(1);
    expect(h.sim.ledger.map((r) => r.chatId).sort()).toEqual([112, 113, 114, 115, 116, 117, 118, 119, 120]);
  });
});

describe("the deployable bundle invoked directly", () => {
  it("returns the same JSON as HTTP on success", async () => {
    const result = await h.newHandler()({ chatId: 114, queueId: 4 }, lambdaContext(28_000));
    expect(result).toMatchObject({ transferred: true, chatId: 114, target: { queueId: 4 }, portal: "main" });
    expect(typeof (result as { requestId: string }).requestId).toBe("string");
  });

  it("throws an error named by the code, so async retries and failure destinations see it", async () => {
    await expect(h.newHandler()({ chatId: 114 }, lambdaContext(28_000))).rejects.toMatchObject({
      name: "VALIDATION_FAILED",
      code: "VALIDATION_FAILED",
    });
    await expect(
      h.newHandler()({ chatId: 112, operatorId: 13 }, lambdaContext(28_000)),
    ).rejects.toMatchObject({
      name: "TRANSFER_REJECTED",
    });
    expect(h.sim.ledger).toHaveLength(0);
  });
});
