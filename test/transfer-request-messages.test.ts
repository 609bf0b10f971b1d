import { describe, expect, it } from "vitest";
import { parseTransferRequest, requireTransferInput } from "../lambda/domain/transfer-request.ts";
import { failureSync } from "./support/failure.ts";

/**
 * The words a caller reads in a 400's `errors`: each field error's path and message, exactly. Integrators
 * show them to whoever fixes the request, so a change to one is a change to the API (docs/api.md).
 */
function errorsOf(input: unknown) {
  const parsed = parseTransferRequest(input);
  expect(parsed.ok).toBe(false);
  return parsed.ok ? [] : parsed.errors;
}

const one = (path: string, message: string) => [{ path, message }];

describe("field errors of a single request", () => {
  it.each([
    ["a missing chatId", { operatorId: 12 }, one("chatId", "chatId is required")],
    ["a negative chatId", { chatId: -1, operatorId: 12 }, one("chatId", "chatId must be a positive integer")],
    [
      "a fractional chatId",
      { chatId: 1.5, operatorId: 12 },
      one("chatId", "chatId must be a positive integer"),
    ],
    [
      "a chatId of letters",
      { chatId: "abc", operatorId: 12 },
      one("chatId", "chatId must be a positive integer"),
    ],
    [
      "a chatId of the wrong type",
      { chatId: true, operatorId: 12 },
      one("chatId", "chatId must be a positive integer"),
    ],
    [
      "a number beyond 2^53",
      { chatId: 2 ** 53, operatorId: 12 },
      one("chatId", "chatId must be a positive integer"),
    ],
    [
      "digits beyond 2^53",
      { chatId: "9007199254740992", operatorId: 12 },
      one("chatId", "chatId is too large"),
    ],
    [
      "a bad operatorId",
      { chatId: 1, operatorId: 0 },
      one("operatorId", "operatorId must be a positive integer"),
    ],
    ["a bad queueId", { chatId: 1, queueId: "x" }, one("queueId", "queueId must be a positive integer")],
    ["anyOperator false", { chatId: 1, anyOperator: false }, one("anyOperator", "anyOperator must be true")],
    [
      "no target",
      { chatId: 1 },
      one("operatorId", "exactly one of operatorId, queueId or anyOperator is required"),
    ],
    [
      "two targets",
      { chatId: 1, operatorId: 2, queueId: 3 },
      one("queueId", "give one of operatorId, queueId or anyOperator, not operatorId and queueId"),
    ],
    ["leave as Y", { chatId: 1, operatorId: 2, leave: "Y" }, one("leave", "leave must be true or false")],
    [
      "a numeric message",
      { chatId: 1, operatorId: 2, message: 5 },
      one("message", "message must be a string"),
    ],
    [
      "a blank message",
      { chatId: 1, operatorId: 2, message: " \n " },
      one("message", "message must not be blank"),
    ],
    [
      "a long message",
      { chatId: 1, operatorId: 2, message: "x".repeat(2001) },
      one("message", "message must be at most 2000 characters"),
    ],
    [
      "a fallback that is no object",
      { chatId: 1, operatorId: 2, fallback: 3 },
      one("fallback", 'fallback must be an object such as {"queueId": 3}'),
    ],
    [
      "a fallback without a target",
      { chatId: 1, operatorId: 2, fallback: {} },
      one("fallback.operatorId", "exactly one of operatorId, queueId or anyOperator is required"),
    ],
    [
      "a fallback equal to the target",
      { chatId: 1, queueId: 3, fallback: { queueId: 3 } },
      one("fallback", "fallback must differ from the target"),
    ],
    ["a numeric portal", { chatId: 1, operatorId: 2, portal: 7 }, one("portal", "portal must be a string")],
    [
      "an uppercase portal",
      { chatId: 1, operatorId: 2, portal: "Main" },
      one(
        "portal",
        "portal must be 1-63 lowercase letters, digits or hyphens, starting with a letter or digit",
      ),
    ],
    ["an unknown field", { chatId: 1, operatorId: 2, botId: 5 }, one("botId", "unknown field botId")],
    [
      "an unknown field in the fallback",
      { chatId: 1, operatorId: 2, fallback: { queueId: 3, userId: 4 } },
      one("fallback.userId", "unknown field userId"),
    ],
    ["no object at all", "chat 1", one("(body)", "the request must be a JSON object")],
  ])("%s", (_name, input, expected) => {
    expect(errorsOf(input)).toEqual(expected);
  });
});

describe("field errors of a batch", () => {
  const problem = (input: unknown) => failureSync(() => requireTransferInput(input));

  it.each([
    [
      "transfers that is no list",
      { transfers: 1 },
      one("transfers", "transfers must be a list of transfer requests"),
    ],
    ["an empty batch", { transfers: [] }, one("transfers", "transfers must hold at least one request")],
    [
      "51 transfers",
      { transfers: Array.from({ length: 51 }, (_, i) => ({ chatId: i + 1, queueId: 3 })) },
      one("transfers", "transfers must hold at most 50 requests"),
    ],
    [
      "a bad item",
      {
        transfers: [
          { chatId: 1, operatorId: 2 },
          { chatId: 0, operatorId: 2 },
        ],
      },
      one("transfers.1.chatId", "chatId must be a positive integer"),
    ],
    [
      "one chat twice",
      {
        transfers: [
          { chatId: 1, operatorId: 2 },
          { chatId: 1, queueId: 3 },
        ],
      },
      one("transfers.1.chatId", "chat 1 is already transferred by transfers.0"),
    ],
  ])("%s", (_name, input, expected) => {
    const error = problem(input);
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.details.errors).toEqual(expected);
    expect(error.details.detail).toBe(expected.map((e) => `${e.path}: ${e.message}`).join("; "));
  });

  it("lists the first 20 errors, and names 5 in the detail with a count of the rest that is never cut off", () => {
    const error = problem({ transfers: Array.from({ length: 23 }, () => ({ chatId: 0, operatorId: 0 })) });
    expect(error.details.errors).toHaveLength(20);
    expect(error.details.errors?.[19]).toEqual({
      path: "transfers.9.operatorId",
      message: "operatorId must be a positive integer",
    });
    expect(error.details.detail).toBe(
      "transfers.0.chatId: chatId must be a positive integer; transfers.0.operatorId: operatorId must be a positive integer; transfers.1.chatId: chatId must be a positive integer; transfers.1.operatorId: operatorId must be a positive integer; transfers.2.chatId: chatId must be a positive integer; and 63 more",
    );
  });

  it("cuts each named error in the detail, so long unknown field names cannot push the count out", () => {
    const long = "k".repeat(300);
    const fields = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`${long}${i}`, 1]));
    const error = problem({ chatId: 1, operatorId: 2, ...fields });
    expect(error.details.detail).toMatch(/^k{119}…; k{119}…; /);
    expect(error.details.detail).toMatch(/; and 1 more$/);
    expect(error.details.detail.length).toBeLessThan(1000);
  });
});
