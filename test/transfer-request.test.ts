import { describe, expect, it } from "vitest";
import { TransferError } from "../lambda/domain/problems.ts";
import { parseTransferRequest, requireTransferRequest } from "../lambda/domain/transfer-request.ts";

const errorsOf = (input: unknown) => {
  const parsed = parseTransferRequest(input);
  if (parsed.ok) throw new Error(`expected a validation failure for ${JSON.stringify(input)}`);
  return parsed.errors;
};

describe("transfer request schema", () => {
  it("accepts an operator target and applies defaults", () => {
    // Strict: no optional key is set, even to undefined, when the caller gave none.
    expect(parseTransferRequest({ chatId: 112, operatorId: 12 })).toStrictEqual({
      ok: true,
      request: { chatId: 112, target: { operatorId: 12 }, leave: false },
    });
  });

  it("normalises digit strings and keeps optional fields", () => {
    expect(parseTransferRequest({ chatId: "112", queueId: "3", leave: true, portal: "eu-1" })).toStrictEqual({
      ok: true,
      request: { chatId: 112, target: { queueId: 3 }, leave: true, portal: "eu-1" },
    });
  });

  it("rejects a misspelt field instead of transferring to nobody", () => {
    expect(errorsOf({ chatId: 112, operatorID: 12 })).toEqual([
      { path: "operatorID", message: "unknown field operatorID" },
      { path: "operatorId", message: "exactly one of operatorId, queueId or anyOperator is required" },
    ]);
  });

  it("requires exactly one target", () => {
    expect(errorsOf({ chatId: 1 })).toEqual([
      { path: "operatorId", message: "exactly one of operatorId, queueId or anyOperator is required" },
    ]);
    expect(errorsOf({ chatId: 1, operatorId: 2, queueId: 3 })).toEqual([
      {
        path: "queueId",
        message: "give one of operatorId, queueId or anyOperator, not operatorId and queueId",
      },
    ]);
  });

  it("refuses botId like any unknown field: Bitrix24 has no BOT_ID parameter", () => {
    expect(errorsOf({ chatId: 1, operatorId: 2, botId: 7 })).toEqual([
      { path: "botId", message: "unknown field botId" },
    ]);
  });

  it.each([
    ["zero", 0],
    ["negative", -5],
    ["fraction", 1.5],
    ["leading zero", "012"],
    ["signed string", "+12"],
    ["hex", "0x10"],
    ["exponent", "1e3"],
    ["empty string", ""],
    ["boolean", true],
    ["null", null],
    ["unsafe integer", 2 ** 53],
    ["NaN-like", "NaN"],
  ])("rejects a chatId that is %s", (_name, chatId) => {
    expect(errorsOf({ chatId, operatorId: 1 })).toEqual([
      { path: "chatId", message: "chatId must be a positive integer" },
    ]);
  });

  it("reports a missing chatId as required", () => {
    expect(errorsOf({ operatorId: 1 })).toEqual([{ path: "chatId", message: "chatId is required" }]);
  });

  it("rejects digit strings beyond the safe integer range", () => {
    expect(errorsOf({ chatId: "9999999999999999", operatorId: 1 })).toEqual([
      { path: "chatId", message: "chatId is too large" },
    ]);
  });

  it.each([["Main"], ["-main"], ["a".repeat(64)], ["with space"], ["under_score"], [""]])(
    "rejects portal name %j",
    (portal) => {
      expect(errorsOf({ chatId: 1, operatorId: 1, portal }).map((e) => e.path)).toEqual(["portal"]);
    },
  );

  it("accepts the longest valid portal name", () => {
    expect(parseTransferRequest({ chatId: 1, operatorId: 1, portal: `a${"-".repeat(62)}` }).ok).toBe(true);
  });

  it("rejects leave given as Bitrix24's Y/N instead of a boolean", () => {
    expect(errorsOf({ chatId: 1, operatorId: 1, leave: "Y" })).toEqual([
      { path: "leave", message: "leave must be true or false" },
    ]);
  });

  it.each([[null], [[]], ["text"], [42], [[{ chatId: 1, operatorId: 1 }]]])(
    "rejects a body that is not an object: %j",
    (input) => {
      expect(errorsOf(input)).toEqual([{ path: "(body)", message: "the request must be a JSON object" }]);
    },
  );

  it("turns failures into a VALIDATION_FAILED problem listing every field", () => {
    let thrown: unknown;
    try {
      requireTransferRequest({ chatId: 0, queueId: "x" });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TransferError);
    const error = thrown as TransferError;
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.status).toBe(400);
    expect(error.details.errors?.map((e) => e.path)).toEqual(["chatId", "queueId"]);
  });
});
