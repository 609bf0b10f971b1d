import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { transferRequestedEvent } from "./support/eventbridge.ts";
import { httpApiEvent } from "./support/events.ts";
import { useBundleHarness } from "./support/harness.ts";

/**
 * A bot's whole hand-over through the deployable bundle against the simulator: anyOperator, a message
 * just before the transfer, and a fallback target. The simulator's ledger holds executed hand-overs,
 * its `messages` what was written, both numbered in one sequence.
 */
const h = useBundleHarness();
const OPERATOR_METHOD = "imopenlines.bot.session.operator";
const TRANSFER_METHOD = "imopenlines.bot.session.transfer";
const MESSAGE_METHOD = "imopenlines.bot.session.message.send";

async function post(body: unknown, headers: Record<string, string> = {}, handler = h.newHandler()) {
  const result = (await handler(
    httpApiEvent({ body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers } }),
    lambdaContext(6_000),
  )) as APIGatewayProxyStructuredResultV2;
  return { status: result.statusCode, body: JSON.parse(result.body ?? "null") };
}
const hits = (method: string) => h.sim.hits.filter((hit) => hit.method === method).length;

describe("anyOperator", () => {
  it("hands the chat to its own line once; a repeat is refused and hands nothing over again", async () => {
    const first = await post({ chatId: 112, anyOperator: true });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ transferred: true, chatId: 112, target: { anyOperator: true } });
    expect(h.sim.ledger).toMatchObject([{ method: OPERATOR_METHOD, chatId: 112 }]);

    const repeat = await post({ chatId: 112, anyOperator: true });
    expect([repeat.status, repeat.body.code, repeat.body.bitrix24?.error]).toEqual([
      422,
      "TRANSFER_REJECTED",
      "WRONG_CHAT",
    ]);
    expect(h.sim.ledger).toHaveLength(1);
  });

  it("after a lost answer, calls once more and takes WRONG_CHAT as the proof that the first call worked", async () => {
    h.sim.injectFault({ kind: "reset" }, { method: OPERATOR_METHOD, executes: true });
    const { status, body } = await post({ chatId: 113, anyOperator: true });
    expect(status).toBe(200);
    expect(body).toMatchObject({ transferred: true, chatId: 113, target: { anyOperator: true } });
    expect(body.evidence).toContain("WRONG_CHAT");
    expect(hits(OPERATOR_METHOD)).toBe(2);
    expect(h.sim.ledger).toHaveLength(1);
  });

  it("after a lost answer of a call that did not run, the second call does it", async () => {
    h.sim.injectFault({ kind: "html", status: 502 }, { method: OPERATOR_METHOD });
    const { status, body } = await post({ chatId: 114, anyOperator: true });
    expect([status, body.transferred, body.evidence]).toEqual([200, true, undefined]);
    expect(h.sim.ledger).toHaveLength(1);
  });
});

describe("a message before the hand-over", () => {
  const text = "Соединяю вас со специалистом 👩‍💻, одну минуту! 🙏";

  it("is written with the exact text, NAME=DEFAULT, just before the transfer", async () => {
    const { status, body } = await post({ chatId: 112, queueId: 3, message: text });
    expect(status).toBe(200);
    expect(body).toMatchObject({ transferred: true, message: { sent: true } });
    expect(h.sim.messages).toMatchObject([{ chatId: 112, message: text, name: "DEFAULT" }]);
    const [message] = h.sim.messages;
    const [transfer] = h.sim.ledger;
    expect(transfer?.seq).toBe((message?.seq ?? Number.NaN) + 1);
  });

  it("that fails does not stop the transfer, and the answer says it was not sent and why", async () => {
    h.sim.injectFault({ kind: "error", status: 400, error: "CHAT_ID_EMPTY" }, { method: MESSAGE_METHOD });
    const { status, body } = await post({ chatId: 113, operatorId: 12, message: text });
    expect(status).toBe(200);
    expect(body.transferred).toBe(true);
    expect(body.message).toMatchObject({ sent: false, code: "TRANSFER_REJECTED" });
    expect(h.sim.messages).toHaveLength(0);
    expect(h.sim.ledger).toHaveLength(1);
  });

  it("whose answer was lost is not sent again, and the transfer still runs", async () => {
    h.sim.injectFault({ kind: "reset" }, { method: MESSAGE_METHOD, executes: true });
    const { status, body } = await post({ chatId: 114, operatorId: 12, message: text });
    expect(status).toBe(200);
    expect(body.message).toMatchObject({ sent: false, code: "OUTCOME_UNKNOWN" });
    expect(hits(MESSAGE_METHOD)).toBe(1);
    expect(h.sim.messages).toHaveLength(1);
    expect(h.sim.ledger).toHaveLength(1);
  });
});

describe("a fallback target", () => {
  it("takes the chat when Bitrix24 refused the operator, and the answer names the queue", async () => {
    const { status, body } = await post({ chatId: 116, operatorId: 13, fallback: { queueId: 3 } });
    expect(status).toBe(200);
    expect(body).toMatchObject({ transferred: true, target: { queueId: 3 }, fallbackUsed: true });
    expect(h.sim.ledger).toMatchObject([{ chatId: 116, to: { queueId: 3 } }]);
  });

  it("is never tried after an unknown outcome", async () => {
    // Chat 117 is on line 4: a move within it leaves no mark a read could see, so the outcome stays unknown.
    h.sim.injectFault(
      { kind: "error", status: 500, error: "ERROR_CORE" },
      { method: TRANSFER_METHOD, executes: true },
    );
    const { status, body } = await post({ chatId: 117, queueId: 4, fallback: { operatorId: 12 } });
    expect([status, body.code]).toEqual([502, "OUTCOME_UNKNOWN"]);
    expect(hits(TRANSFER_METHOD)).toBe(1);
    expect(h.sim.ledger).toMatchObject([{ chatId: 117, to: { queueId: 4 } }]);
  });

  it("is not tried either when a read settles the lost answer as done", async () => {
    h.sim.injectFault(
      { kind: "error", status: 500, error: "ERROR_CORE" },
      { method: TRANSFER_METHOD, executes: true },
    );
    const { status, body } = await post({ chatId: 117, operatorId: 12, fallback: { queueId: 3 } });
    expect(status).toBe(200);
    expect(body).toMatchObject({ target: { operatorId: 12 } });
    expect(body.fallbackUsed).toBeUndefined();
    expect(body.evidence).toContain("user 12");
    expect(hits(TRANSFER_METHOD)).toBe(1);
    expect(h.sim.ledger).toMatchObject([{ chatId: 117, to: { userId: 12 } }]);
  });

  it("reports the fallback's own refusal when both are refused", async () => {
    const { status, body } = await post({ chatId: 118, operatorId: 13, fallback: { operatorId: 20 } });
    expect([status, body.code, body.bitrix24?.error]).toEqual([422, "TRANSFER_REJECTED", "OPERATOR_WRONG"]);
    expect(h.sim.ledger).toHaveLength(0);
  });

  it("works in a batch too, per item", async () => {
    const { status, body } = await post({
      transfers: [
        { chatId: 112, operatorId: 13, fallback: { queueId: 4 }, message: "one moment" },
        { chatId: 113, operatorId: 12 },
      ],
    });
    expect(status).toBe(200);
    expect(body.results[0]).toMatchObject({
      target: { queueId: 4 },
      fallbackUsed: true,
      message: { sent: true },
    });
    expect(h.sim.ledger.map((record) => [record.chatId, record.to])).toEqual([
      [113, { userId: 12 }],
      [112, { queueId: 4 }],
    ]);
    expect(h.sim.messages.map((message) => message.chatId)).toEqual([112]);
  });
});

describe("from an EventBridge event", () => {
  it("hands over with the message, and parks a refused item without its written message", async () => {
    const event = transferRequestedEvent({
      transfers: [
        { chatId: 112, anyOperator: true, message: "Привет 👋" },
        { chatId: 113, operatorId: 13, message: "one moment" },
      ],
    });
    const summary = (await h.newHandler()(event, lambdaContext(6_000))) as {
      succeeded: number;
      failed: number;
    };
    expect(summary).toMatchObject({ succeeded: 1, failed: 1 });
    expect(h.sim.messages.map((message) => [message.chatId, message.message])).toEqual([
      [112, "Привет 👋"],
      [113, "one moment"],
    ]);
    const parked = (h.secrets.messages.get(h.secrets.queueUrl) ?? []) as {
      request: unknown;
      problem: { message?: unknown };
    }[];
    expect(parked).toHaveLength(1);
    // Replayed as parked, it must not write "one moment" into the chat a second time.
    expect(parked[0]?.request).toEqual({ chatId: 113, operatorId: 13 });
    expect(parked[0]?.problem.message).toEqual({ sent: true });
  });
});
