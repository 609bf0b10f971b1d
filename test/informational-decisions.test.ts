import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { firstDuplicateKey } from "../lambda/domain/duplicate-keys.ts";
import { lambdaContext } from "../scripts/local-api.ts";
import { startDynamo } from "../scripts/local-dynamodb.ts";
import { scheduleInput, transferRequestedEvent } from "./support/eventbridge.ts";
import { httpApiEvent } from "./support/events.ts";
import { useBundleHarness } from "./support/harness.ts";

/** Issue 25, the informational findings decided and built; each assertion is on what Bitrix24 ran. */
let dynamo: { url: string; close: () => Promise<void> };
beforeAll(async () => {
  dynamo = await startDynamo("informational-idempotency");
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.url;
  process.env.IDEMPOTENCY_TABLE = "informational-idempotency";
});
afterAll(async () => {
  delete process.env.IDEMPOTENCY_TABLE;
  await dynamo?.close();
});
const h = useBundleHarness();

async function postText(body: string) {
  const result = (await h.newHandler()(
    httpApiEvent({ body }),
    lambdaContext(28_000),
  )) as APIGatewayProxyStructuredResultV2;
  return { status: result.statusCode, body: JSON.parse(result.body ?? "null") };
}

describe("informational: a per-client portal allow-list (clientPortals)", () => {
  async function postAs(client: string, body: unknown) {
    process.env.CLIENT_PORTALS = JSON.stringify({ "example-crm": ["main"] });
    try {
      const handler = h.newHandler();
      const result = (await handler(
        httpApiEvent({ body: JSON.stringify(body), client }),
        lambdaContext(28_000),
      )) as APIGatewayProxyStructuredResultV2;
      return { status: result.statusCode, body: JSON.parse(result.body ?? "null") };
    } finally {
      delete process.env.CLIENT_PORTALS;
    }
  }

  it("refuses a portal outside the client's list with 403 before reading any secret, for a whole batch", async () => {
    const single = await postAs("example-crm", { chatId: 112, operatorId: 12, portal: "other" });
    expect([single.status, single.body.code]).toEqual([403, "PORTAL_FORBIDDEN"]);
    const batch = await postAs("example-crm", {
      transfers: [
        { chatId: 112, operatorId: 12 },
        { chatId: 113, operatorId: 12, portal: "other" },
      ],
    });
    expect([batch.status, batch.body.code]).toEqual([403, "PORTAL_FORBIDDEN"]);
    expect(h.sim.hits).toEqual([]);
    expect(h.secrets.calls.get("b24-transfer/other")).toBeUndefined();
  });

  it("refuses a chat read on a portal outside the client's list the same way", async () => {
    process.env.CLIENT_PORTALS = JSON.stringify({ "example-crm": ["main"] });
    try {
      const event = httpApiEvent({ method: "GET", path: "/transfers/chats/112", body: null, headers: {} });
      event.queryStringParameters = { portal: "other" };
      (event.requestContext as unknown as { authorizer: unknown }).authorizer = {
        lambda: { client: "example-crm" },
      };
      const result = (await h.newHandler()(
        event,
        lambdaContext(28_000),
      )) as APIGatewayProxyStructuredResultV2;
      expect([result.statusCode, JSON.parse(result.body ?? "null").code]).toEqual([403, "PORTAL_FORBIDDEN"]);
      expect(h.sim.hits).toEqual([]);
    } finally {
      delete process.env.CLIENT_PORTALS;
    }
  });

  it("lets the client use its portals (the default one included), and a client without a list use any", async () => {
    expect((await postAs("example-crm", { chatId: 112, operatorId: 12 })).status).toBe(200);
    expect((await postAs("helpdesk", { chatId: 113, operatorId: 12, portal: "main" })).status).toBe(200);
    expect(h.sim.ledger.map((r) => r.chatId)).toEqual([112, 113]);
  });
});

describe("informational: duplicate JSON keys", () => {
  it('refuses {"chatId":1,"operatorId":2,"chatId":3} with 400 INVALID_JSON and moves no chat', async () => {
    const { status, body } = await postText('{"chatId":112,"operatorId":12,"chatId":113}');
    expect([status, body.code]).toEqual([400, "INVALID_JSON"]);
    expect(body.detail).toContain('"chatId" twice');
    expect(h.sim.hits).toEqual([]);
  });

  it("finds duplicates in nested objects and by decoded name, not across objects or in values", () => {
    expect(firstDuplicateKey('{"transfers":[{"chatId":1,"\\u0063hatId":2}]}')).toBe("chatId");
    expect(firstDuplicateKey('{"a":{"x":1},"b":{"x":1},"c":["a","a"],"d":"a:"}')).toBeUndefined();
    expect(firstDuplicateKey('{"a":"\\"","a" :1}')).toBe("a");
    expect(firstDuplicateKey('[{"a":1},{"a":1}]')).toBeUndefined();
  });
});

describe("informational: messages", () => {
  it.each([
    ["only zero-width spaces", "\u200b\u200b"],
    ["only a BOM, a word joiner and a soft hyphen", "\ufeff\u2060\u00ad"],
    ["only Hangul fillers and spaces", "\u3164 \u115f"],
  ])("refuses a message of %s as blank", async (_name, message) => {
    const { status, body } = await postText(JSON.stringify({ chatId: 112, operatorId: 12, message }));
    expect([status, body.code, body.errors]).toEqual([
      400,
      "VALIDATION_FAILED",
      [{ path: "message", message: "message must not be blank" }],
    ]);
    expect(h.sim.hits).toEqual([]);
  });

  it("refuses a NUL character", async () => {
    const { status, body } = await postText(
      JSON.stringify({ chatId: 112, operatorId: 12, message: "a\u0000b" }),
    );
    expect([status, body.errors[0].message]).toEqual([400, "message must not contain NUL characters"]);
    expect(h.sim.hits).toEqual([]);
  });

  it("writes text with invisible characters inside it as it is", async () => {
    const { status } = await postText(
      JSON.stringify({ chatId: 112, operatorId: 12, message: "one\u200bmoment" }),
    );
    expect(status).toBe(200);
    expect(h.sim.messages.map((m) => m.message)).toEqual(["one\u200bmoment"]);
  });
});

describe("informational: BBCode in messages", () => {
  const text = "[USER=1]boss[/USER], see [URL=https://evil.example]this[/URL]";

  it("is sent as given by default, so callers may format their messages", async () => {
    await postText(JSON.stringify({ chatId: 112, operatorId: 12, message: text }));
    expect(h.sim.messages.map((m) => m.message)).toEqual([text]);
  });

  it("is shown as text with MESSAGE_BBCODE=escape: no tag matches, the text reads the same", async () => {
    process.env.MESSAGE_BBCODE = "escape";
    try {
      await postText(JSON.stringify({ transfers: [{ chatId: 112, operatorId: 12, message: text }] }));
    } finally {
      delete process.env.MESSAGE_BBCODE;
    }
    const [written] = h.sim.messages.map((m) => m.message);
    expect(written).not.toMatch(/\[(USER|URL)/);
    expect(written?.replaceAll("\u200b", "")).toBe(text);
  });
});

describe("informational: event idempotency keys are scoped by source", () => {
  it("a schedule envelope with id E1 does not block a later EventBridge event E1", async () => {
    const handler = h.newHandler();
    const forged = { ...scheduleInput({ chatId: 112, operatorId: 12 }), eventId: "E1" };
    await handler(forged, lambdaContext(28_000));
    const summary = await handler(
      transferRequestedEvent({ chatId: 113, operatorId: 12 }, "E1"),
      lambdaContext(28_000),
    );
    expect(summary).toMatchObject({ succeeded: 1, failed: 0 });
    expect(h.sim.ledger.map((r) => r.chatId)).toEqual([112, 113]);
    // The same event delivered again still runs once.
    await handler(transferRequestedEvent({ chatId: 113, operatorId: 12 }, "E1"), lambdaContext(28_000));
    expect(h.sim.ledger.map((r) => r.chatId)).toEqual([112, 113]);
  });
});
