import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { transferRequestedEvent } from "./support/eventbridge.ts";
import { httpApiEvent } from "./support/events.ts";
import { MAIN_SECRET, useBundleHarness } from "./support/harness.ts";
import { type HostileUpstream, startHostileUpstream } from "./support/hostile-upstream.ts";

/**
 * Issue 14, finding 1: Bitrix24's texts are copied nowhere verbatim. A hostile upstream quotes the
 * webhook URL and code in `error` and in a 900 KB `error_description`; every path (single, batch, event,
 * direct invocation) must answer, log and queue without the secret and within a bounded size.
 */
const h = useBundleHarness({ POWERTOOLS_LOG_LEVEL: "DEBUG" });
const CODE = "h0stileW3bhookC0de42";
let upstream: HostileUpstream;
let webhookUrl: string;

/** Bounds well above any honest answer and far below the 922 KB the old code produced. */
const MAX_ANSWER_BYTES = 8 * 1024;
const MAX_LOG_LINE_BYTES = 8 * 1024;
const MAX_QUEUE_MESSAGE_BYTES = 8 * 1024;

beforeAll(async () => {
  upstream = await startHostileUpstream();
  webhookUrl = `${upstream.url}/rest/1/${CODE}/`;
});
afterAll(() => upstream.close());

let output: string[];
beforeEach(() => {
  h.secrets.put(MAIN_SECRET, JSON.stringify({ webhookUrl, clientId: "b24-transfer-demo" }));
  output = [];
  const capture = (chunk: unknown) => {
    output.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
});
afterEach(() => vi.restoreAllMocks());

/** 900 KB that quotes the webhook URL, its code and a bearer header over and over. */
const hugeDescription = () =>
  `the call to ${webhookUrl}imopenlines.bot.session.transfer.json failed; auth=${CODE} Bearer ${CODE} `.repeat(
    5500,
  );

const errorEnvelope = (error: string) => JSON.stringify({ error, error_description: hugeDescription() });

function logLines(): string[] {
  return output
    .join("")
    .split("\n")
    .filter((line) => line.trim() !== "");
}

function expectNoLeakInLogs(): void {
  const lines = logLines();
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(line).not.toContain(CODE);
    expect(Buffer.byteLength(line)).toBeLessThan(MAX_LOG_LINE_BYTES);
  }
}

async function post(body: unknown): Promise<{ status: number; text: string; json: Record<string, unknown> }> {
  const result = (await h.newHandler()(
    httpApiEvent({ body: JSON.stringify(body) }),
    lambdaContext(28_000),
  )) as APIGatewayProxyStructuredResultV2;
  const text = result.body ?? "";
  return { status: result.statusCode ?? 0, text, json: JSON.parse(text) };
}

const asError = (error: unknown) => {
  const e = error as Error;
  return JSON.stringify({ name: e.name, message: e.message, stack: e.stack, ...(e as object) });
};

describe("hostile upstream texts: single transfer", () => {
  it("answers and logs a code-shaped error that IS the webhook code without it, and a 900 KB description cut", async () => {
    upstream.answer(() => ({ status: 400, body: errorEnvelope(CODE) }));
    const response = await post({ chatId: 112, operatorId: 12 });

    expect(response.status).toBe(502);
    expect(response.text).not.toContain(CODE);
    expect(Buffer.byteLength(response.text)).toBeLessThan(MAX_ANSWER_BYTES);
    const bitrix24 = response.json.bitrix24 as { error: string; description: string };
    expect(bitrix24.error).toBe("UNREADABLE_ERROR");
    expect(bitrix24.description.length).toBeLessThanOrEqual(300);
    expect(bitrix24.description).toContain("[REDACTED]");
    expectNoLeakInLogs();
  });

  it("replaces an error that is not a code (the webhook URL) with a placeholder", async () => {
    upstream.answer(() => ({ status: 400, body: errorEnvelope(`${webhookUrl}x`.repeat(1000)) }));
    const response = await post({ chatId: 112, operatorId: 12 });

    expect(response.text).not.toContain(CODE);
    expect(Buffer.byteLength(response.text)).toBeLessThan(MAX_ANSWER_BYTES);
    expect((response.json.bitrix24 as { error: string }).error).toBe("UNREADABLE_ERROR");
    expectNoLeakInLogs();
  });

  it("does not quote a string result, which may echo the webhook code", async () => {
    upstream.answer(() => ({ status: 200, body: JSON.stringify({ result: CODE }) }));
    // Unguarded: the transfer's own answer; the guard's read of the same answer is the next test.
    const response = await post({ chatId: 112, operatorId: 12, guard: false });
    expect(response.status).toBe(502);
    expect(response.json.code).toBe("OUTCOME_UNKNOWN");
    expect(response.text).not.toContain(CODE);
    expectNoLeakInLogs();
  });

  it("does not quote a read's answer either: the guard sends nothing and says the chat cannot be read", async () => {
    const methods: string[] = [];
    upstream.answer((request) => {
      methods.push(request.url);
      return { status: 200, body: JSON.stringify({ result: { owner: CODE, entity_data_1: CODE } }) };
    });
    const response = await post({ chatId: 112, operatorId: 12 });
    expect([response.status, response.json.code]).toEqual([502, "UPSTREAM_ERROR"]);
    expect(response.text).not.toContain(CODE);
    expect(methods.every((url) => url.includes("imopenlines.dialog.get"))).toBe(true);
    expectNoLeakInLogs();
  });

  it("keeps an honest error code and description as they are", async () => {
    upstream.answer(() => ({
      status: 400,
      body: JSON.stringify({ error: "OPERATOR_WRONG", error_description: "Operator is not in the line" }),
    }));
    const response = await post({ chatId: 112, operatorId: 12 });
    expect(response.status).toBe(422);
    expect(response.json.bitrix24).toEqual({
      error: "OPERATOR_WRONG",
      description: "Operator is not in the line",
    });
  });

  it("throws a direct invocation's failure without the secret and with a bounded message", async () => {
    upstream.answer(() => ({ status: 400, body: errorEnvelope(CODE) }));
    const thrown = await h
      .newHandler()({ chatId: 112, operatorId: 12 }, lambdaContext(28_000))
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    const seen = asError(thrown);
    expect(seen).not.toContain(CODE);
    expect(Buffer.byteLength(seen)).toBeLessThan(MAX_ANSWER_BYTES);
    expectNoLeakInLogs();
  });
});

/** A batch answer in which every command failed with the hostile texts. */
const hostileBatch = (count: number) =>
  JSON.stringify({
    result: {
      result: {},
      result_error: Object.fromEntries(
        Array.from({ length: count }, (_, i) => [
          `t${i}`,
          { error: i % 2 === 0 ? CODE : webhookUrl, error_description: hugeDescription().slice(0, 20_000) },
        ]),
      ),
      result_total: [],
      result_next: [],
      result_time: [],
    },
  });

describe("hostile upstream texts: batch and events", () => {
  it("answers a batch whose items failed with hostile texts without the secret, bounded", async () => {
    upstream.answer(() => ({ status: 200, body: hostileBatch(3) }));
    // Unguarded: the transfers' batch answer is the hostile one (the reads' would end each item earlier).
    const response = await post({
      transfers: [
        { chatId: 112, operatorId: 12, guard: false },
        { chatId: 113, operatorId: 12, guard: false },
        { chatId: 114, operatorId: 12, guard: false },
      ],
    });

    expect(response.status).toBe(207);
    expect(response.text).not.toContain(CODE);
    expect(Buffer.byteLength(response.text)).toBeLessThan(3 * MAX_ANSWER_BYTES);
    const results = response.json.results as { problem: { bitrix24: { error: string } } }[];
    expect(results.map((item) => item.problem.bitrix24.error)).toEqual([
      "UNREADABLE_ERROR",
      "UNREADABLE_ERROR",
      "UNREADABLE_ERROR",
    ]);
    expectNoLeakInLogs();
  });

  it("queues the failed items of an event without the secret, each message bounded", async () => {
    upstream.answer((request) =>
      request.url.endsWith("/batch.json")
        ? { status: 200, body: hostileBatch(2) }
        : { status: 400, body: errorEnvelope(CODE) },
    );
    const summary = await h
      .newHandler()(
        transferRequestedEvent({
          transfers: [
            { chatId: 112, operatorId: 12 },
            { chatId: 113, operatorId: 12 },
          ],
        }),
        lambdaContext(28_000),
      )
      .catch(asError);
    expect(summary).toMatchObject({ succeeded: 0, failed: 2 });

    const single = await h
      .newHandler()(
        transferRequestedEvent({ chatId: 112, operatorId: 12 }, "second-event"),
        lambdaContext(28_000),
      )
      .catch(asError);
    expect(single).toMatchObject({ succeeded: 0, failed: 1 });

    const messages = h.secrets.messages.get(h.secrets.queueUrl) ?? [];
    expect(messages).toHaveLength(3);
    for (const message of messages) {
      const text = JSON.stringify(message);
      expect(text).not.toContain(CODE);
      expect(Buffer.byteLength(text)).toBeLessThan(MAX_QUEUE_MESSAGE_BYTES);
    }
    expectNoLeakInLogs();
  });
});
