import { describe, expect, it } from "vitest";
import { type BatchCommand, MAX_BATCH_COMMANDS, packBatches } from "../lambda/bitrix24/batch.ts";
import {
  afterFailure,
  handedOver,
  messageFailure,
  startHandOver,
  withMessage,
  withMessageOutcome,
} from "../lambda/domain/hand-over.ts";
import { TransferError } from "../lambda/domain/problems.ts";
import type { TransferRequest } from "../lambda/domain/transfer-request.ts";

/** The hand-over's decisions, one failure at a time (the drivers are tested against the simulator). */
const refusal = (error: string) =>
  new TransferError(error === "BOT_ID_ERROR" ? "PORTAL_MISCONFIGURED" : "TRANSFER_REJECTED", {
    detail: `refused with ${error}`,
    bitrix24: { error },
  });
const unknown = () => new TransferError("OUTCOME_UNKNOWN", { detail: "lost" });
const request = (extra: Partial<TransferRequest> = {}): TransferRequest => ({
  chatId: 112,
  target: { operatorId: 12 },
  leave: false,
  ...extra,
});

describe("after a failure of the target", () => {
  it("tries the same target once more after OPERATOR_WRONG (the queue lock), waiting for it", () => {
    const first = afterFailure(startHandOver(request()), refusal("OPERATOR_WRONG"), false, "main");
    expect(first).toMatchObject({
      kind: "again",
      waitForLock: true,
      state: { target: { operatorId: 12 }, lockRetried: true },
    });
    if (first.kind !== "again") throw new Error("unreachable");
    expect(afterFailure(first.state, refusal("OPERATOR_WRONG"), false, "main").kind).toBe("failed");
  });

  it.each(["OPERATOR_WRONG", "USER_ID_EMPTY", "QUEUE_ID_EMPTY", "TRANSFER_ID_EMPTY"])(
    "moves to the fallback after %s, which ran nothing",
    (code) => {
      const state = { ...startHandOver(request({ fallback: { queueId: 3 } })), lockRetried: true };
      const next = afterFailure(state, refusal(code), false, "main");
      expect(next).toMatchObject({ kind: "again", state: { target: { queueId: 3 }, fallbackUsed: true } });
    },
  );

  it("gives the fallback its own lock retry, and has no fallback for the fallback", () => {
    const state = { ...startHandOver(request({ fallback: { queueId: 3 } })), lockRetried: true };
    const onFallback = afterFailure(state, refusal("OPERATOR_WRONG"), false, "main");
    if (onFallback.kind !== "again") throw new Error("expected the fallback");
    const lock = afterFailure(onFallback.state, refusal("OPERATOR_WRONG"), false, "main");
    if (lock.kind !== "again") throw new Error("expected a lock retry");
    expect(lock.state.target).toEqual({ queueId: 3 });
    expect(afterFailure(lock.state, refusal("OPERATOR_WRONG"), false, "main")).toMatchObject({
      kind: "failed",
    });
  });

  it.each([
    ["an unknown outcome", unknown()],
    [
      "WRONG_CHAT (the chat is no longer with the bot: a transfer would take it from an operator)",
      refusal("WRONG_CHAT"),
    ],
    ["a misconfigured portal", refusal("BOT_ID_ERROR")],
    ["CHAT_ID_EMPTY (the same chat would be refused again)", refusal("CHAT_ID_EMPTY")],
  ])("never uses the fallback after %s", (_name, error) => {
    const state = { ...startHandOver(request({ fallback: { queueId: 3 } })), lockRetried: true };
    expect(afterFailure(state, error, false, "main")).toMatchObject({ kind: "failed", error });
  });

  it("sends a refusal that ran nothing and is retryable (rate limit) again, as it was", () => {
    const state = startHandOver(request());
    const limited = new TransferError("RATE_LIMITED", {
      detail: "x",
      bitrix24: { error: "QUERY_LIMIT_EXCEEDED" },
    });
    expect(afterFailure(state, limited, true, "main")).toEqual({ kind: "again", state, waitForLock: false });
  });
});

describe("anyOperator after a lost answer", () => {
  const anyOperator = () => startHandOver(request({ target: { anyOperator: true } }));

  it("calls once more, at once, because a repeat is refused once the chat left the bot", () => {
    const next = afterFailure(anyOperator(), unknown(), false, "main");
    expect(next).toEqual({
      kind: "again",
      state: { ...anyOperator(), unknownBefore: true },
      waitForLock: false,
    });
  });

  it("takes WRONG_CHAT on that second call as the proof that the first one worked", () => {
    const next = afterFailure(
      { ...anyOperator(), unknownBefore: true },
      refusal("WRONG_CHAT"),
      false,
      "main",
    );
    expect(next).toMatchObject({
      kind: "done",
      result: { transferred: true, chatId: 112, target: { anyOperator: true }, portal: "main" },
    });
    if (next.kind === "done") expect(next.result.evidence).toContain("WRONG_CHAT");
  });

  it("reports WRONG_CHAT without a lost answer before it as the refusal it is", () => {
    expect(afterFailure(anyOperator(), refusal("WRONG_CHAT"), false, "main")).toMatchObject({
      kind: "failed",
    });
  });

  it("gives up after a second lost answer", () => {
    const next = afterFailure({ ...anyOperator(), unknownBefore: true }, unknown(), false, "main");
    expect(next).toMatchObject({ kind: "failed", error: { code: "OUTCOME_UNKNOWN" } });
  });

  it("ends a transfer's lost answer whatever else the error says or the caller thinks", () => {
    // The guard does not rely on the driver's retry flag or on the error carrying no Bitrix24 code.
    const state = startHandOver(request({ fallback: { queueId: 3 } }));
    const lostWithCode = new TransferError("OUTCOME_UNKNOWN", {
      detail: "lost",
      bitrix24: { error: "OPERATOR_WRONG" },
    });
    for (const retryable of [false, true]) {
      expect(afterFailure(state, lostWithCode, retryable, "main")).toEqual({
        kind: "failed",
        error: lostWithCode,
      });
    }
  });

  it("never sends a transfer (operatorId) again after a lost answer", () => {
    expect(afterFailure(startHandOver(request()), unknown(), false, "main")).toMatchObject({
      kind: "failed",
    });
  });
});

describe("a fallback after a refusal", () => {
  it("starts afresh: anyOperator as the fallback takes WRONG_CHAT for the refusal it is", () => {
    // unknownBefore belongs to the target's attempts; carried over, a WRONG_CHAT of the fallback's first
    // call would be read as proof of a hand-over that never happened.
    const state = { ...startHandOver(request({ target: { queueId: 3 }, fallback: { anyOperator: true } })) };
    const onFallback = afterFailure(
      { ...state, lockRetried: true },
      refusal("QUEUE_ID_EMPTY"),
      false,
      "main",
    );
    expect(onFallback).toEqual({
      kind: "again",
      waitForLock: false,
      state: {
        ...state,
        target: { anyOperator: true },
        fallbackUsed: true,
        lockRetried: false,
        unknownBefore: false,
      },
    });
    if (onFallback.kind !== "again") throw new Error("expected the fallback");
    expect(afterFailure(onFallback.state, refusal("WRONG_CHAT"), false, "main")).toMatchObject({
      kind: "failed",
    });
  });
});

describe("a hand-over's result", () => {
  it("carries fallbackUsed, the message and evidence only when there is something to say", () => {
    const state = startHandOver(request());
    expect(handedOver(state, "main")).toStrictEqual({
      transferred: true,
      chatId: 112,
      target: { operatorId: 12 },
      leave: false,
      chat: { state: "withUser", userId: 12, botInChat: null },
      portal: "main",
    });
    expect(
      handedOver({ ...state, target: { queueId: 3 }, fallbackUsed: true }, "main", { sent: true }, "proof"),
    ).toStrictEqual({
      transferred: true,
      chatId: 112,
      target: { queueId: 3 },
      leave: false,
      chat: { state: "inQueue", lineId: 3, botInChat: true },
      portal: "main",
      fallbackUsed: true,
      message: { sent: true },
      evidence: "proof",
    });
  });

  it("claims no LEAVE for anyOperator, whose method takes none, and names the line the guard read", () => {
    const before = {
      chatId: 112,
      dialogId: "chat112",
      holder: { kind: "none" as const },
      dialogue: "open" as const,
      sessionId: 1120,
      lineId: 4,
    };
    const state = startHandOver({ ...request(), target: { anyOperator: true }, leave: true }, before);
    expect(state.before).toBe(before);
    expect(handedOver(state, "main")).toStrictEqual({
      transferred: true,
      chatId: 112,
      target: { anyOperator: true },
      chat: { state: "inQueue", lineId: 4, botInChat: null },
      portal: "main",
    });
    expect(startHandOver(request())).not.toHaveProperty("before");
  });

  it("adds the message's outcome to a result or a problem only when there was a message", () => {
    const result = { transferred: true };
    expect(withMessageOutcome(result, undefined)).toBe(result);
    expect(withMessageOutcome(result, { sent: true })).toStrictEqual({
      transferred: true,
      message: { sent: true },
    });
    const error = refusal("OPERATOR_WRONG");
    expect(withMessage(error, undefined)).toBe(error);
    const told = withMessage(error, { sent: true });
    expect(told).toBeInstanceOf(TransferError);
    expect(told.code).toBe("TRANSFER_REJECTED");
    expect(told.details).toStrictEqual({ ...error.details, message: { sent: true } });
  });
});

describe("the message's outcome", () => {
  it("passes a refusal's own detail on", () => {
    expect(messageFailure(refusal("CHAT_ID_EMPTY"))).toStrictEqual({
      sent: false,
      code: "TRANSFER_REJECTED",
      detail: "refused with CHAT_ID_EMPTY",
    });
  });

  it("says a lost answer may have written it", () => {
    expect(messageFailure(unknown())).toEqual({
      sent: false,
      code: "OUTCOME_UNKNOWN",
      detail: expect.stringContaining("may have been written"),
    });
    expect(messageFailure(refusal("CHAT_ID_EMPTY"))).toMatchObject({
      sent: false,
      code: "TRANSFER_REJECTED",
    });
  });
});

describe("packing commands into batch calls", () => {
  const group = (index: number, withMessage: boolean) => ({
    index,
    commands: [
      ...(withMessage ? [{ key: `m${index}`, call: { method: "m", params: {} } }] : []),
      { key: `t${index}`, call: { method: "t", params: {} } },
    ] as BatchCommand[],
  });

  it("keeps every call within 50 commands and never splits a chat's message from its transfer", () => {
    const groups = Array.from({ length: 50 }, (_, i) => group(i, true));
    const batches = packBatches(groups);
    expect(batches.map((batch) => batch.reduce((n, g) => n + g.commands.length, 0))).toEqual([50, 50]);
    expect(batches.flat().map((g) => g.index)).toEqual(groups.map((g) => g.index));
  });

  it("fills calls up to the limit with mixed items", () => {
    const groups = [group(0, false), ...Array.from({ length: 25 }, (_, i) => group(i + 1, true))];
    const sizes = packBatches(groups).map((batch) => batch.reduce((n, g) => n + g.commands.length, 0));
    expect(sizes.every((size) => size <= MAX_BATCH_COMMANDS)).toBe(true);
    expect(sizes).toEqual([49, 2]);
  });
});
