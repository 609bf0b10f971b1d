import { describe, expect, it } from "vitest";
import { chatAfterHandOver, guardRefusal, settleLostAnswer } from "../lambda/domain/chat-guard.ts";
import { afterLostAnswer, mayReadAfterLoss, startHandOver } from "../lambda/domain/hand-over.ts";
import { TransferError } from "../lambda/domain/problems.ts";
import type { TransferRequest } from "../lambda/domain/transfer-request.ts";
import { chatGuardFixtures } from "./support/chat-fixtures.ts";

const { chat } = chatGuardFixtures;

describe("the guard: a chat is handed over only while no person holds it and its dialogue is open", () => {
  it("lets through a chat with no owner or a bot owner and an open dialogue", () => {
    expect(guardRefusal(chat())).toBeUndefined();
    expect(guardRefusal(chat({ holder: { kind: "bot", userId: 7 } }))).toBeUndefined();
  });

  it("refuses a chat a person holds with 409 CHAT_NOT_WITH_BOT naming them and carrying the read", () => {
    const held = chat({ holder: { kind: "user", userId: 12 } });
    const error = guardRefusal(held);
    expect(error?.code).toBe("CHAT_NOT_WITH_BOT");
    expect(error?.status).toBe(409);
    expect(error?.details.detail).toContain("user 12");
    expect(error?.details.detail).toContain('"guard": false');
    expect(error?.details.chat).toEqual(held);
  });

  it("refuses a closed dialogue, and one the read shows no session for, with 409 DIALOG_CLOSED", () => {
    const closed = guardRefusal(chat({ dialogue: "closed", holder: { kind: "none" } }));
    expect(closed?.code).toBe("DIALOG_CLOSED");
    expect(closed?.details.detail).toContain("closed");
    const unknown = guardRefusal(chat({ dialogue: "unknown" }));
    expect(unknown?.code).toBe("DIALOG_CLOSED");
    expect(unknown?.details.detail).toContain("no dialogue session");
  });

  it("names the person before the closed dialogue when both hold", () => {
    expect(guardRefusal(chat({ dialogue: "closed", holder: { kind: "user", userId: 14 } }))?.code).toBe(
      "CHAT_NOT_WITH_BOT",
    );
  });
});

describe("settling a lost answer with a read", () => {
  it("a user target holding the chat afterwards is the evidence", () => {
    const settled = settleLostAnswer(chat(), chat({ holder: { kind: "user", userId: 12 } }), {
      operatorId: 12,
    });
    expect(settled.kind).toBe("done");
    expect(settled.kind === "done" && settled.evidence).toContain("user 12");
  });

  it("another line written into the session is the evidence for a queue target", () => {
    const settled = settleLostAnswer(chat({ lineId: 3 }), chat({ lineId: 4 }), { queueId: 4 });
    expect(settled.kind).toBe("done");
    expect(settled.kind === "done" && settled.evidence).toContain("line 4");
  });

  it("the chat exactly as before proves a user or other-line transfer did not run", () => {
    expect(settleLostAnswer(chat(), chat(), { operatorId: 12 })).toEqual({ kind: "notRun" });
    expect(settleLostAnswer(chat(), chat(), { queueId: 4 })).toEqual({ kind: "notRun" });
    const botHeld = chat({ holder: { kind: "bot", userId: 7 } });
    expect(settleLostAnswer(botHeld, botHeld, { operatorId: 12 })).toEqual({ kind: "notRun" });
  });

  it("any change the transfer does not explain leaves it unknown", () => {
    expect(settleLostAnswer(chat(), chat({ sessionId: 502 }), { operatorId: 12 }).kind).toBe("unknown");
    expect(settleLostAnswer(chat(), chat({ dialogue: "closed" }), { operatorId: 12 }).kind).toBe("unknown");
    expect(settleLostAnswer(chat(), chat({ lineId: 5 }), { queueId: 4 }).kind).toBe("unknown");
    const botHeld = chat({ holder: { kind: "bot", userId: 7 } });
    expect(settleLostAnswer(botHeld, chat(), { operatorId: 12 }).kind).toBe("unknown");
  });

  it("where the read cannot tell, it stays unknown: a move within the chat's own line, anyOperator, no line known", () => {
    expect(settleLostAnswer(chat({ lineId: 3 }), chat({ lineId: 3 }), { queueId: 3 }).kind).toBe("unknown");
    expect(settleLostAnswer(chat(), chat(), { anyOperator: true }).kind).toBe("unknown");
    const noLine = chat();
    delete noLine.lineId;
    expect(settleLostAnswer(noLine, noLine, { queueId: 4 }).kind).toBe("unknown");
  });

  it("a user target already holding it before proves nothing (guard off)", () => {
    const held = chat({ holder: { kind: "user", userId: 12 } });
    expect(settleLostAnswer(held, held, { operatorId: 12 }).kind).toBe("unknown");
    const settled = settleLostAnswer(held, chat(), { operatorId: 12 });
    expect(settled.kind).toBe("unknown");
  });

  it("the target user holding it after another user did is the evidence", () => {
    const before = chat({ holder: { kind: "user", userId: 14 } });
    const settled = settleLostAnswer(before, chat({ holder: { kind: "user", userId: 12 } }), {
      operatorId: 12,
    });
    expect(settled.kind).toBe("done");
  });

  it("someone other than the target holding it is a 409 naming them", () => {
    const settled = settleLostAnswer(chat(), chat({ holder: { kind: "user", userId: 14 } }), {
      operatorId: 12,
    });
    expect(settled.kind).toBe("refused");
    if (settled.kind !== "refused") return;
    expect(settled.error.code).toBe("CHAT_NOT_WITH_BOT");
    expect(settled.error.details.detail).toContain("user 14");
    expect(settled.error.details.chat?.holder).toEqual({ kind: "user", userId: 14 });
    const queued = settleLostAnswer(chat(), chat({ holder: { kind: "user", userId: 14 } }), { queueId: 4 });
    expect(queued.kind).toBe("refused");
  });
});

describe("what a lost answer's settlement does to the hand-over", () => {
  const request: TransferRequest = { chatId: 112, target: { operatorId: 12 }, leave: false };
  const lost = new TransferError("OUTCOME_UNKNOWN", { detail: "lost" });

  it("is read only with a read from before, an answer that came back or a reset, and a target that leaves a mark", () => {
    const state = startHandOver(request, chat());
    expect(mayReadAfterLoss(state, lost)).toBe(true);
    expect(mayReadAfterLoss(startHandOver(request), lost)).toBe(false);
    expect(
      mayReadAfterLoss(state, new TransferError("OUTCOME_UNKNOWN", { detail: "t", mayStillRun: true })),
    ).toBe(false);
    expect(mayReadAfterLoss(state, new TransferError("TRANSFER_REJECTED", { detail: "no" }))).toBe(false);
    const any = startHandOver({ ...request, target: { anyOperator: true } }, chat());
    expect(mayReadAfterLoss(any, lost)).toBe(false);
  });

  it("done answers success with the evidence; notRun sends once more, and only once", () => {
    const state = startHandOver(request, chat());
    const done = afterLostAnswer(state, lost, { kind: "done", evidence: "seen" }, "main");
    expect(done.kind === "done" && done.result.evidence).toBe("seen");
    const again = afterLostAnswer(state, lost, { kind: "notRun" }, "main");
    expect(again.kind).toBe("again");
    if (again.kind !== "again") return;
    expect(again.state.resentAfterLostAnswer).toBe(true);
    expect(again.waitForLock).toBe(false);
    expect(afterLostAnswer(again.state, lost, { kind: "notRun" }, "main")).toEqual({
      kind: "failed",
      error: lost,
    });
  });

  it("a refusal replaces the unknown outcome; unknown keeps it", () => {
    const state = startHandOver(request, chat());
    const refused = new TransferError("CHAT_NOT_WITH_BOT", { detail: "user 14" });
    expect(afterLostAnswer(state, lost, { kind: "refused", error: refused }, "main")).toEqual({
      kind: "failed",
      error: refused,
    });
    expect(afterLostAnswer(state, lost, { kind: "unknown" }, "main")).toEqual({
      kind: "failed",
      error: lost,
    });
  });
});

describe("the chat after a confirmed hand-over, by the module's rules", () => {
  it("a user target is made the owner; whether the bot stays is not known", () => {
    expect(chatAfterHandOver({ operatorId: 12 }, chat())).toEqual({
      state: "withUser",
      userId: 12,
      botInChat: null,
    });
  });

  it("a queue target waits in that line's queue and the sending bot stays (transferToQueue ignores LEAVE)", () => {
    expect(chatAfterHandOver({ queueId: 4 }, undefined)).toEqual({
      state: "inQueue",
      lineId: 4,
      botInChat: true,
    });
  });

  it("anyOperator waits in the chat's own line's queue, named when a read gave it", () => {
    expect(chatAfterHandOver({ anyOperator: true }, chat({ lineId: 3 }))).toEqual({
      state: "inQueue",
      lineId: 3,
      botInChat: null,
    });
    expect(chatAfterHandOver({ anyOperator: true }, undefined)).toEqual({
      state: "inQueue",
      botInChat: null,
    });
  });
});
