import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { scheduleInput, transferRequestedEvent } from "./support/eventbridge.ts";
import { httpApiEvent } from "./support/events.ts";
import { useBundleHarness } from "./support/harness.ts";

/**
 * The guard and the lost-answer settlement through the deployable bundle against the simulator, whose
 * chats stand in every state (demo portal): 112..120 with bot 7's session, 121 answered by operator 12,
 * 122 closed, 124 on a line the demo webhook may not read. Every assertion about what Bitrix24 did is
 * read from the simulator's ledger, not from the answer.
 */
const h = useBundleHarness();
const TRANSFER = "imopenlines.bot.session.transfer";
const MESSAGE = "imopenlines.bot.session.message.send";
const DIALOG_GET = "imopenlines.dialog.get";

async function post(body: unknown) {
  const result = (await h.newHandler()(
    httpApiEvent({ body: JSON.stringify(body) }),
    lambdaContext(6_000),
  )) as APIGatewayProxyStructuredResultV2;
  return { status: result.statusCode, body: JSON.parse(result.body ?? "null") };
}

async function get(path: string, query: Record<string, string> = {}, method = "GET") {
  const event = httpApiEvent({ method, path, body: null, headers: {} });
  event.queryStringParameters = query;
  const result = (await h.newHandler()(event, lambdaContext(6_000))) as APIGatewayProxyStructuredResultV2;
  return {
    status: result.statusCode,
    headers: result.headers ?? {},
    body: JSON.parse(result.body ?? "null"),
  };
}

const hits = (method: string) => h.sim.hits.filter((hit) => hit.method === method).length;
const parked = () => h.secrets.queued(h.secrets.queueUrl).map((message) => JSON.parse(message.body));

describe("the guard, single requests", () => {
  it("refuses a chat an operator holds with 409 naming them, and sends neither message nor transfer", async () => {
    const { status, body } = await post({ chatId: 121, queueId: 4, message: "One moment" });
    expect([status, body.code]).toEqual([409, "CHAT_NOT_WITH_BOT"]);
    expect(body.detail).toContain("user 12");
    expect(body.chat).toMatchObject({ chatId: 121, holder: { kind: "user", userId: 12 }, dialogue: "open" });
    expect(h.sim.ledger).toHaveLength(0);
    expect(h.sim.messages).toHaveLength(0);
    expect(hits(TRANSFER) + hits(MESSAGE)).toBe(0);
  });

  it("refuses a closed dialogue with 409 DIALOG_CLOSED, sending nothing", async () => {
    const { status, body } = await post({ chatId: 122, operatorId: 12 });
    expect([status, body.code, body.chat?.dialogue]).toEqual([409, "DIALOG_CLOSED", "closed"]);
    expect(h.sim.ledger).toHaveLength(0);
    expect(hits(TRANSFER)).toBe(0);
  });

  it("hands over a chat its bot holds, reading it first, and says what Bitrix24's rules made of it", async () => {
    const { status, body } = await post({ chatId: 112, queueId: 4, leave: true });
    expect(status).toBe(200);
    expect(body.chat).toEqual({ state: "inQueue", lineId: 4, botInChat: true });
    expect(h.sim.ledger).toMatchObject([{ method: TRANSFER, chatId: 112, to: { queueId: 4 } }]);
    const order = h.sim.hits.map((hit) => hit.method).filter((method) => method !== "imbot.bot.list");
    expect(order).toEqual([DIALOG_GET, TRANSFER]);
  });

  it('with "guard": false hands over even a chat an operator holds, unread', async () => {
    const { status, body } = await post({ chatId: 121, queueId: 4, guard: false });
    expect(status).toBe(200);
    expect(body.transferred).toBe(true);
    expect(hits(DIALOG_GET)).toBe(0);
    expect(h.sim.ledger).toMatchObject([{ chatId: 121, to: { queueId: 4 } }]);
  });

  it("a chat the webhook's user may not read is 422 CHAT_NOT_READABLE naming the permission; nothing sent", async () => {
    const { status, body } = await post({ chatId: 124, operatorId: 14 });
    expect([status, body.code, body.bitrix24?.error]).toEqual([422, "CHAT_NOT_READABLE", "ACCESS_ERROR"]);
    expect(body.detail).toContain("JOIN");
    expect(h.sim.ledger).toHaveLength(0);
  });

  it("takes the dialog id chat113 as chat 113", async () => {
    const { status, body } = await post({ chatId: "chat113", operatorId: 12 });
    expect([status, body.chatId]).toEqual([200, 113]);
    expect(h.sim.ledger).toMatchObject([{ chatId: 113, to: { userId: 12 } }]);
  });

  it("anyOperator does not claim a LEAVE it never sent", async () => {
    const { status, body } = await post({ chatId: 114, anyOperator: true });
    expect(status).toBe(200);
    expect(body).not.toHaveProperty("leave");
    expect(body.chat).toMatchObject({ state: "inQueue", botInChat: null });
  });
});

describe("the guard in batches", () => {
  it("reads every chat in one batch call, refuses the ones a person holds or that are closed, hands over the rest", async () => {
    const { status, body } = await post({
      transfers: [
        { chatId: 112, queueId: 4 },
        { chatId: 121, queueId: 4 },
        { chatId: 122, operatorId: 12 },
        { chatId: 113, operatorId: 12 },
      ],
    });
    expect(status).toBe(207);
    expect(body.results.map((item: { problem?: { code: string } }) => item.problem?.code ?? "ok")).toEqual([
      "ok",
      "CHAT_NOT_WITH_BOT",
      "DIALOG_CLOSED",
      "ok",
    ]);
    expect(h.sim.ledger.map((record) => record.chatId).sort()).toEqual([112, 113]);
    expect(hits(DIALOG_GET)).toBe(0);
    expect(hits("batch")).toBe(2);
  });

  it("nine chats with messages: the reads are one batch call and no dialog.get is sent on its own", async () => {
    const transfers = Array.from({ length: 9 }, (_, index) => ({
      chatId: 112 + index,
      queueId: 4,
      message: "Hi",
    }));
    const { status } = await post({ transfers });
    expect(status).toBe(200);
    const outsideBatch = h.sim.hits.filter(
      (hit) => hit.method !== "batch" && hit.method !== "imbot.bot.list",
    );
    expect(outsideBatch).toHaveLength(0);
    expect(hits("batch")).toBe(2);
    expect(h.sim.ledger).toHaveLength(9);
  });
});

describe("the guard for events and schedules", () => {
  it("an EventBridge event for a chat an operator holds parks it with CHAT_NOT_WITH_BOT, nothing sent", async () => {
    await h.newHandler()(transferRequestedEvent({ chatId: 121, queueId: 4 }), lambdaContext(6_000));
    expect(h.sim.ledger).toHaveLength(0);
    expect(parked()).toMatchObject([{ problem: { code: "CHAT_NOT_WITH_BOT" } }]);
  });

  it("a schedule skips the closed and the taken chats and hands over the bot's", async () => {
    await h.newHandler()(
      scheduleInput({
        transfers: [
          { chatId: 121, queueId: 4 },
          { chatId: 122, queueId: 4 },
          { chatId: 115, queueId: 4 },
        ],
      }),
      lambdaContext(6_000),
    );
    expect(h.sim.ledger.map((record) => record.chatId)).toEqual([115]);
    expect(
      parked()
        .map((item: { problem: { code: string } }) => item.problem.code)
        .sort(),
    ).toEqual(["CHAT_NOT_WITH_BOT", "DIALOG_CLOSED"]);
  });
});

describe("lost answers settled by a read", () => {
  it("a reset after an executed transfer to a user: success with evidence, sent once", async () => {
    h.sim.injectFault({ kind: "reset" }, { method: TRANSFER, executes: true });
    const { status, body } = await post({ chatId: 113, operatorId: 12 });
    expect(status).toBe(200);
    expect(body.evidence).toContain("user 12");
    expect(hits(TRANSFER)).toBe(1);
    expect(h.sim.ledger).toHaveLength(1);
  });

  it("a 500 after an executed transfer to another line: success with evidence, sent once", async () => {
    h.sim.injectFault(
      { kind: "error", status: 500, error: "ERROR_CORE" },
      { method: TRANSFER, executes: true },
    );
    const { status, body } = await post({ chatId: 112, queueId: 4 });
    expect(status).toBe(200);
    expect(body.evidence).toContain("line 4");
    expect(hits(TRANSFER)).toBe(1);
    expect(h.sim.ledger).toHaveLength(1);
  });

  it("a 502 page for a transfer that did not run: the read shows nothing changed, and it is done exactly once", async () => {
    h.sim.injectFault({ kind: "html", status: 502 }, { method: TRANSFER });
    const { status, body } = await post({ chatId: 113, operatorId: 12 });
    expect([status, body.transferred, body.evidence]).toEqual([200, true, undefined]);
    expect(hits(TRANSFER)).toBe(2);
    expect(h.sim.ledger).toHaveLength(1);
  });

  it("two losses in a row: sent again once, then it stays unknown", async () => {
    h.sim.injectFault({ kind: "html", status: 502 }, { method: TRANSFER, times: 2 });
    const { status, body } = await post({ chatId: 113, operatorId: 12 });
    expect([status, body.code]).toEqual([502, "OUTCOME_UNKNOWN"]);
    expect(body.detail).toContain("GET /transfers/chats/{chatId}");
    expect(hits(TRANSFER)).toBe(2);
  });

  it("within the chat's own line the read cannot tell: unknown, never re-sent", async () => {
    h.sim.injectFault({ kind: "html", status: 502 }, { method: TRANSFER });
    const { status, body } = await post({ chatId: 112, queueId: 3 });
    expect([status, body.code]).toEqual([502, "OUTCOME_UNKNOWN"]);
    expect(hits(TRANSFER)).toBe(1);
    expect(h.sim.ledger).toHaveLength(0);
  });

  it("after a timeout Bitrix24 may still be running it: unknown, no read, never re-sent", async () => {
    process.env.BITRIX24_ATTEMPT_TIMEOUT_SECONDS = "1";
    try {
      h.sim.injectFault({ kind: "latency", ms: 1500 }, { method: TRANSFER });
      const { status, body } = await post({ chatId: 113, operatorId: 12 });
      expect([status, body.code]).toEqual([502, "OUTCOME_UNKNOWN"]);
      // The portal finishes the request after we gave up on it: exactly why no read settles a timeout.
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(h.sim.ledger).toHaveLength(1);
      expect(hits(TRANSFER)).toBe(1);
      expect(hits(DIALOG_GET)).toBe(1);
    } finally {
      delete process.env.BITRIX24_ATTEMPT_TIMEOUT_SECONDS;
    }
  });

  it("in a batch: a reset after the transfers ran is settled by one read batch, each item with evidence", async () => {
    // Faults are taken in order: the guard's read batch passes (latency 0), the transfer batch runs and its answer is lost.
    h.sim.injectFault({ kind: "latency", ms: 0 }, { method: "batch" });
    h.sim.injectFault({ kind: "reset" }, { method: "batch", executes: true });
    const { status, body } = await post({
      transfers: [
        { chatId: 112, operatorId: 12 },
        { chatId: 113, queueId: 3 },
        { chatId: 114, queueId: 3 },
      ],
    });
    expect(status).toBe(207);
    expect(body.results[0].evidence).toContain("user 12");
    // 113 is on line 4, so line 3 written into its session is the mark; 114 is on line 3 already: unknown.
    expect(body.results[1].evidence).toContain("line 3");
    expect(body.results[2].problem.code).toBe("OUTCOME_UNKNOWN");
    expect(hits("batch")).toBe(3);
    expect(h.sim.ledger.map((record) => record.chatId).sort()).toEqual([112, 113, 114]);
  });

  it("in a batch: a 502 page before the transfers ran is settled as not run, and each is done exactly once", async () => {
    h.sim.injectFault({ kind: "latency", ms: 0 }, { method: "batch" });
    h.sim.injectFault({ kind: "html", status: 502 }, { method: "batch" });
    const { status, body } = await post({
      transfers: [
        { chatId: 112, operatorId: 12 },
        { chatId: 113, queueId: 3 },
      ],
    });
    expect(status).toBe(200);
    expect(body.results.map((item: { transferred: boolean }) => item.transferred)).toEqual([true, true]);
    expect(h.sim.ledger.map((record) => record.chatId).sort()).toEqual([112, 113]);
  });
});

describe("reading a chat", () => {
  it("GET /transfers/chats/121 names the operator who holds it", async () => {
    const { status, body } = await get("/transfers/chats/121");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      chatId: 121,
      dialogId: "chat121",
      holder: { kind: "user", userId: 12 },
      dialogue: "open",
      lineId: 3,
      portal: "main",
    });
    expect(h.sim.ledger).toHaveLength(0);
  });

  it("takes chat112 as the id and shows the bot's chat", async () => {
    const { status, body } = await get("/transfers/chats/chat112");
    expect(status).toBe(200);
    expect(body.chatId).toBe(112);
    expect(body.holder.kind === "bot" || body.holder.kind === "none").toBe(true);
    expect(body.dialogue).toBe("open");
  });

  it("refuses a bad id (400), an unknown portal (404), another method (405, Allow: GET)", async () => {
    expect((await get("/transfers/chats/12x")).body.code).toBe("VALIDATION_FAILED");
    expect((await get("/transfers/chats/112", { portal: "nowhere" })).body.code).toBe("UNKNOWN_PORTAL");
    const posted = await get("/transfers/chats/112", {}, "POST");
    expect([posted.status, posted.headers.allow]).toEqual([405, "GET"]);
    expect(h.sim.hits).toHaveLength(0);
  });

  it("ACCESS_ERROR is 422 CHAT_NOT_READABLE", async () => {
    const { status, body } = await get("/transfers/chats/124");
    expect([status, body.code]).toEqual([422, "CHAT_NOT_READABLE"]);
  });

  it("as a direct invocation returns the state, or throws the problem", async () => {
    const handler = h.newHandler();
    const state = (await handler({ readChat: { chatId: 122 } }, lambdaContext(6_000))) as {
      dialogue: string;
    };
    expect(state.dialogue).toBe("closed");
    await expect(handler({ readChat: { chatId: 124 } }, lambdaContext(6_000))).rejects.toMatchObject({
      name: "CHAT_NOT_READABLE",
    });
    await expect(handler({ readChat: { chatId: 1 }, extra: 1 }, lambdaContext(6_000))).rejects.toMatchObject({
      name: "VALIDATION_FAILED",
    });
  });
});
