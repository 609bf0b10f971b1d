import { describe, expect, it } from "vitest";
import {
  MAX_BATCH_ITEMS,
  parseTransferRequest,
  requireTransferInput,
} from "../lambda/domain/transfer-request.ts";

/** The edges of the request contract: where a valid id or batch ends and an invalid one begins. */

const chatIdOf = (chatId: unknown) => {
  const parsed = parseTransferRequest({ chatId, operatorId: 1 });
  return parsed.ok ? parsed.request.chatId : parsed.errors;
};

describe("id boundaries", () => {
  it("accepts the largest safe integer, as a number or digits, and nothing above it", () => {
    expect(chatIdOf(9_007_199_254_740_991)).toBe(9_007_199_254_740_991);
    expect(chatIdOf("9007199254740991")).toBe(9_007_199_254_740_991);
    // zod's int() already stops numbers at the safe range; digit strings need the explicit bound.
    expect(chatIdOf(9_007_199_254_740_992)).toEqual([
      { path: "chatId", message: "chatId must be a positive integer" },
    ]);
    expect(chatIdOf("9007199254740992")).toEqual([{ path: "chatId", message: "chatId is too large" }]);
  });

  it("accepts the dialog id chat<ID> (dialog.get's dialog_id) as the chat id, and no other spelling", () => {
    expect(chatIdOf("chat112")).toBe(112);
    expect(chatIdOf("chat9007199254740991")).toBe(9_007_199_254_740_991);
    expect(chatIdOf("chat9007199254740992")).toEqual([{ path: "chatId", message: "chatId is too large" }]);
    for (const bad of ["chat0", "chat01", "chat", "chat 1", "Chat112", "user12", "chat-1", "112chat"]) {
      expect(chatIdOf(bad), bad).toEqual([{ path: "chatId", message: "chatId must be a positive integer" }]);
    }
    const queue = parseTransferRequest({ chatId: 1, queueId: "chat3" });
    expect(queue.ok).toBe(false);
  });

  it("accepts 1 and digit strings of 1 to 16 digits", () => {
    expect(chatIdOf(1)).toBe(1);
    expect(chatIdOf("1")).toBe(1);
    expect(chatIdOf("10")).toBe(10);
    expect(chatIdOf("1000000000000000")).toBe(1_000_000_000_000_000);
  });

  it.each([
    [0],
    [-1],
    [1.5],
    ["0"],
    ["01"],
    ["-1"],
    ["1.5"],
    [" 1"],
    ["1 "],
    ["1e3"],
    ["10000000000000000"],
    [""],
  ])("refuses %j as an id", (chatId) => {
    expect(chatIdOf(chatId)).toEqual([{ path: "chatId", message: "chatId must be a positive integer" }]);
  });

  it("applies the same rules to every id field", () => {
    for (const field of ["operatorId", "queueId"]) {
      const target = field === "queueId" ? {} : { operatorId: 1 };
      const request = { chatId: 1, ...target, [field]: "9007199254740992" };
      const parsed = parseTransferRequest(request);
      expect(parsed.ok ? parsed.request : parsed.errors).toContainEqual({
        path: field,
        message: `${field} is too large`,
      });
    }
  });
});

describe("batch boundaries", () => {
  const items = (count: number) =>
    Array.from({ length: count }, (_, i) => ({ chatId: i + 1, operatorId: 1 }));

  it("holds 1 to 50 transfers", () => {
    expect(MAX_BATCH_ITEMS).toBe(50);
    expect(requireTransferInput({ transfers: items(1) })).toMatchObject({
      kind: "batch",
      requests: [{ chatId: 1 }],
    });
    expect(requireTransferInput({ transfers: items(50) })).toMatchObject({ kind: "batch" });
    expect(() => requireTransferInput({ transfers: items(51) })).toThrow(/at most 50/);
    expect(() => requireTransferInput({ transfers: [] })).toThrow(/at least one/);
  });

  it("names every repeated chat with the index of its first transfer", () => {
    const transfers = [
      { chatId: 1, operatorId: 1 },
      { chatId: 2, operatorId: 1 },
      { chatId: 1, queueId: 3 },
      { chatId: 1, operatorId: 4 },
    ];
    expect(() => requireTransferInput({ transfers })).toThrow(
      "transfers.2.chatId: chat 1 is already transferred by transfers.0; transfers.3.chatId: chat 1 is already transferred by transfers.0",
    );
  });

  it("tells the same chat number on two portals apart, and the default portal from a named one", () => {
    const transfers = [
      { chatId: 1, operatorId: 1, portal: "eu-1" },
      { chatId: 1, operatorId: 1, portal: "us-1" },
      { chatId: 1, operatorId: 1 },
    ];
    // The default portal's name is known only to the service, which checks the resolved portals again.
    const input = requireTransferInput({ transfers });
    expect(input.kind === "batch" && input.requests.map((request) => request.portal)).toEqual([
      "eu-1",
      "us-1",
      undefined,
    ]);
    expect(() => requireTransferInput({ transfers: [...transfers, { chatId: 1, queueId: 2 }] })).toThrow(
      "transfers.3.chatId: chat 1 is already transferred by transfers.2",
    );
  });
});
