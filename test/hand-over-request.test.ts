import { describe, expect, it } from "vitest";
import { parseTransferRequest, requireTransferInput } from "../lambda/domain/transfer-request.ts";

/** The hand-over fields of a request: anyOperator, message and fallback, in singles and batches. */
const errorsOf = (input: unknown) => {
  const parsed = parseTransferRequest(input);
  if (parsed.ok) throw new Error(`expected a validation failure for ${JSON.stringify(input)}`);
  return parsed.errors;
};

describe("anyOperator", () => {
  it("is a target of its own", () => {
    expect(parseTransferRequest({ chatId: 112, anyOperator: true })).toEqual({
      ok: true,
      request: { chatId: 112, target: { anyOperator: true }, leave: false },
    });
  });

  it("is exactly true, and never beside another target", () => {
    expect(errorsOf({ chatId: 112, anyOperator: false })).toContainEqual({
      path: "anyOperator",
      message: "anyOperator must be true",
    });
    expect(errorsOf({ chatId: 112, anyOperator: true, queueId: 3 })).toEqual([
      {
        path: "anyOperator",
        message: "give one of operatorId, queueId or anyOperator, not queueId and anyOperator",
      },
    ]);
  });
});

describe("message", () => {
  it("keeps any Unicode text exactly, counting characters as people do", () => {
    const text = "Соединяю со специалистом 👩‍💻, минуту!";
    expect(parseTransferRequest({ chatId: 1, queueId: 3, message: text })).toMatchObject({
      ok: true,
      request: { message: text },
    });
    const emoji = "😀".repeat(2000); // 4000 UTF-16 units, 2000 characters
    expect(parseTransferRequest({ chatId: 1, queueId: 3, message: emoji }).ok).toBe(true);
  });

  it.each([
    ["empty", "", "message must not be blank"],
    ["blank", "  \n ", "message must not be blank"],
    ["too long", "x".repeat(2001), "message must be at most 2000 characters"],
    ["not a string", 42, "message must be a string"],
  ])("refuses a %s message", (_name, message, expected) => {
    expect(errorsOf({ chatId: 1, queueId: 3, message })).toEqual([{ path: "message", message: expected }]);
  });
});

describe("fallback", () => {
  it("takes one target of the same three kinds", () => {
    expect(parseTransferRequest({ chatId: 1, operatorId: 12, fallback: { queueId: "3" } })).toMatchObject({
      ok: true,
      request: { target: { operatorId: 12 }, fallback: { queueId: 3 } },
    });
    expect(
      parseTransferRequest({ chatId: 1, operatorId: 12, fallback: { anyOperator: true } }),
    ).toMatchObject({
      ok: true,
      request: { fallback: { anyOperator: true } },
    });
  });

  it.each([
    [{}, "fallback.operatorId", "exactly one of operatorId, queueId or anyOperator is required"],
    [
      { operatorId: 1, queueId: 2 },
      "fallback.queueId",
      "give one of operatorId, queueId or anyOperator, not operatorId and queueId",
    ],
    [{ queueId: 0 }, "fallback.queueId", "queueId must be a positive integer"],
    [{ queueId: 3, leave: true }, "fallback.leave", "unknown field leave"],
    [{ operatorId: 12 }, "fallback", "fallback must differ from the target"],
  ])("refuses fallback %j", (fallback, path, message) => {
    expect(errorsOf({ chatId: 1, operatorId: 12, fallback })).toContainEqual({ path, message });
  });

  it("refuses a fallback that is not an object", () => {
    expect(errorsOf({ chatId: 1, operatorId: 12, fallback: 3 })).toEqual([
      { path: "fallback", message: 'fallback must be an object such as {"queueId": 3}' },
    ]);
  });
});

describe("in a batch", () => {
  it("takes the same fields in every item", () => {
    const input = requireTransferInput({
      transfers: [
        { chatId: 1, anyOperator: true, message: "Hi" },
        { chatId: 2, operatorId: 12, fallback: { queueId: 3 } },
      ],
    });
    expect(input).toEqual({
      kind: "batch",
      requests: [
        { chatId: 1, target: { anyOperator: true }, leave: false, message: "Hi" },
        { chatId: 2, target: { operatorId: 12 }, leave: false, fallback: { queueId: 3 } },
      ],
    });
  });
});
