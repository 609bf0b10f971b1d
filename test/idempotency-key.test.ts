import { describe, expect, it } from "vitest";
import { IDEMPOTENCY_KEY_PATTERN } from "../lambda/domain/idempotency-key-pattern.ts";
import { TransferError } from "../lambda/domain/problems.ts";
import type { HttpRequest } from "../lambda/events/api-gateway.ts";
import { idempotencyKey } from "../lambda/handlers/http/idempotency-key.ts";

const request = (headers: Record<string, string>, client?: string): HttpRequest => ({
  method: "POST",
  path: "/transfers",
  headers,
  query: {},
  body: undefined,
  bodyTooLarge: false,
  requestId: undefined,
  client,
});

function problemOf(key: string): TransferError | undefined {
  try {
    idempotencyKey(request({ "idempotency-key": key }, "crm"));
  } catch (error) {
    if (error instanceof TransferError) return error;
    throw error;
  }
  return undefined;
}

describe("the Idempotency-Key header", () => {
  it("is absent when the request has none", () => {
    expect(idempotencyKey(request({}, "crm"))).toBeUndefined();
  });

  it("is scoped to the authenticated client, so two clients never share a key", () => {
    expect(idempotencyKey(request({ "idempotency-key": "order-1" }, "crm"))).toBe("http:crm:order-1");
    expect(idempotencyKey(request({ "idempotency-key": "order-1" }, "erp"))).toBe("http:erp:order-1");
    expect(idempotencyKey(request({ "idempotency-key": "order-1" }))).toBe("http:-:order-1");
  });

  it("accepts 1 to 255 visible ASCII characters, the edges included", () => {
    for (const key of ["a", "!", "~", "x".repeat(255), "!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"]) {
      expect(problemOf(key), key).toBeUndefined();
    }
  });

  it.each([
    ["empty", ""],
    ["256 characters", "x".repeat(256)],
    ["a space inside", "order 1"],
    ["a leading space", " order"],
    ["a trailing space", "order "],
    ["a control character", "order\u0001"],
    ["DEL", "order\u007f"],
    ["non-ASCII", "заказ"],
  ])("is a VALIDATION_FAILED problem when %s", (_, key) => {
    const problem = problemOf(key);
    expect(problem?.code).toBe("VALIDATION_FAILED");
    expect(problem?.details.errors).toEqual([
      { path: "headers.Idempotency-Key", message: "must be 1-255 visible ASCII characters" },
    ]);
  });

  it("exports the pattern the OpenAPI document shows", () => {
    expect(IDEMPOTENCY_KEY_PATTERN.source).toBe("^[\\x21-\\x7e]{1,255}$");
  });
});
