import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { transferRequestedEvent } from "./support/eventbridge.ts";
import { httpApiEvent } from "./support/events.ts";
import { MAIN_SECRET, useBundleHarness } from "./support/harness.ts";
import { type HostileUpstream, startHostileUpstream } from "./support/hostile-upstream.ts";

/**
 * Issue 25, Low 5: the bot's CLIENT_ID (with the webhook, all it takes to act as the bot) was never
 * redacted: an upstream description quoting it reached the caller, an upstream `error` equal to it
 * passed as a code, and it reached log lines and the parked item. It is a known secret now.
 */
const h = useBundleHarness({ POWERTOOLS_LOG_LEVEL: "DEBUG" });
const CLIENT_ID = "bot-client-7f3a9c2e51";
let upstream: HostileUpstream;
let output: string[];

beforeAll(async () => {
  upstream = await startHostileUpstream();
});
afterAll(() => upstream.close());
beforeEach(() => {
  h.secrets.put(
    MAIN_SECRET,
    JSON.stringify({ webhookUrl: `${upstream.url}/rest/1/webhookc0de/`, clientId: CLIENT_ID }),
  );
  output = [];
  const capture = (chunk: unknown) => {
    output.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
});
afterEach(() => vi.restoreAllMocks());

const quoting = {
  error: CLIENT_ID,
  error_description: `no bot for CLIENT_ID=${CLIENT_ID} (custom${CLIENT_ID})`,
};
const batchAnswer = (keys: string[]) =>
  JSON.stringify({
    result: {
      result: [],
      result_error: Object.fromEntries(keys.map((key) => [key, quoting])),
      result_total: [],
      result_next: [],
      result_time: [],
    },
  });
const commandKeys = (body: string) => Object.keys((JSON.parse(body) as { cmd: Record<string, string> }).cmd);

async function post(body: unknown): Promise<{ status: number; text: string }> {
  const result = (await h.newHandler()(
    httpApiEvent({ body: JSON.stringify(body) }),
    lambdaContext(28_000),
  )) as APIGatewayProxyStructuredResultV2;
  return { status: result.statusCode ?? 0, text: result.body ?? "" };
}

describe("Low 5: the bot's CLIENT_ID is redacted like the webhook code", () => {
  it("a single call: an error equal to it is no code, a description quoting it is redacted, logs carry neither", async () => {
    upstream.answer(() => ({ status: 400, body: JSON.stringify(quoting) }));
    // Without the guard's read, so that the refused call is the transfer, which carries the CLIENT_ID.
    const { status, text } = await post({ chatId: 112, operatorId: 12, guard: false });
    expect(status).toBeGreaterThanOrEqual(400);
    expect(JSON.parse(text).bitrix24).toEqual({
      error: "UNREADABLE_ERROR",
      description: expect.stringContaining("[REDACTED]"),
    });
    expect(text).not.toContain(CLIENT_ID);
    expect(output.join("")).not.toContain(CLIENT_ID);
    // It was really sent: the redaction hides it, Bitrix24 still gets it.
    expect(upstream.requests.at(-1)?.body).toContain(CLIENT_ID);
  });

  it("a batch: every item's problem and the log line without it", async () => {
    upstream.answer((request) => ({ status: 200, body: batchAnswer(commandKeys(request.body)) }));
    const { text } = await post({
      transfers: [
        { chatId: 112, operatorId: 12 },
        { chatId: 113, queueId: 3 },
      ],
    });
    expect(text).toContain("UNREADABLE_ERROR");
    expect(text).not.toContain(CLIENT_ID);
    expect(output.join("")).not.toContain(CLIENT_ID);
  });

  it("an event: the parked items carry no CLIENT_ID", async () => {
    upstream.answer((request) =>
      request.url.endsWith("/batch.json")
        ? { status: 200, body: batchAnswer(commandKeys(request.body)) }
        : { status: 400, body: JSON.stringify(quoting) },
    );
    const before = h.secrets.queued(h.secrets.queueUrl).length;
    await h.newHandler()(
      transferRequestedEvent({ chatId: 112, operatorId: 12 }, "event-cid"),
      lambdaContext(28_000),
    );
    await h.newHandler()(
      transferRequestedEvent({ transfers: [{ chatId: 113, operatorId: 12 }] }, "event-cid-batch"),
      lambdaContext(28_000),
    );
    const parked = h.secrets.queued(h.secrets.queueUrl).slice(before);
    expect(parked).toHaveLength(2);
    for (const message of parked) expect(message.body).not.toContain(CLIENT_ID);
    expect(output.join("")).not.toContain(CLIENT_ID);
  });
});
