import { describe, expect, it } from "vitest";
import { PROBLEM_TYPE_BASE, PROBLEMS, TransferError, toProblemDocument } from "../lambda/domain/problems.ts";

describe("problems", () => {
  it("carry their code as name and message prefix, and the status of their code", () => {
    const error = new TransferError("RATE_LIMITED", { detail: "slow down", retryAfter: 5 });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("RATE_LIMITED");
    expect(error.code).toBe("RATE_LIMITED");
    expect(error.message).toBe("RATE_LIMITED: slow down");
    expect(error.status).toBe(503);
    expect(error.details).toEqual({ detail: "slow down", retryAfter: 5 });
  });

  it("map every code to the HTTP status callers branch on", () => {
    const statuses = Object.fromEntries(Object.entries(PROBLEMS).map(([code, { status }]) => [code, status]));
    expect(statuses).toEqual({
      INVALID_JSON: 400,
      VALIDATION_FAILED: 400,
      UNSUPPORTED_EVENT: 400,
      NOT_FOUND: 404,
      PORTAL_FORBIDDEN: 403,
      METHOD_NOT_ALLOWED: 405,
      UNKNOWN_PORTAL: 404,
      REQUEST_IN_PROGRESS: 409,
      CHAT_NOT_WITH_BOT: 409,
      DIALOG_CLOSED: 409,
      PAYLOAD_TOO_LARGE: 413,
      UNSUPPORTED_MEDIA_TYPE: 415,
      IDEMPOTENCY_KEY_REUSED: 422,
      TRANSFER_REJECTED: 422,
      CHAT_NOT_READABLE: 422,
      INTERNAL_ERROR: 500,
      PORTAL_MISCONFIGURED: 502,
      UPSTREAM_ERROR: 502,
      OUTCOME_UNKNOWN: 502,
      RATE_LIMITED: 503,
      IDEMPOTENCY_UNAVAILABLE: 503,
      CREDENTIALS_UNAVAILABLE: 503,
      UPSTREAM_TIMEOUT: 504,
    });
  });

  it("become an RFC 9457 document with errors and the Bitrix24 error only when present", () => {
    const bare = toProblemDocument(new TransferError("NOT_FOUND", { detail: "no" }), "req-1");
    expect(bare).toEqual({
      type: `${PROBLEM_TYPE_BASE}NOT_FOUND`,
      title: PROBLEMS.NOT_FOUND.title,
      status: 404,
      detail: "no",
      code: "NOT_FOUND",
      requestId: "req-1",
    });
    expect(Object.keys(bare)).not.toContain("errors");
    expect(Object.keys(bare)).not.toContain("bitrix24");
    expect(Object.keys(bare)).not.toContain("message");
    expect(PROBLEM_TYPE_BASE).toBe("urn:b24-transfer:problem:");

    const full = toProblemDocument(
      new TransferError("TRANSFER_REJECTED", {
        detail: "rejected",
        errors: [{ path: "chatId", message: "bad" }],
        bitrix24: { error: "WRONG_CHAT", description: "chat not found" },
        attempts: 1,
      }),
      "req-2",
    );
    expect(full).toEqual({
      type: `${PROBLEM_TYPE_BASE}TRANSFER_REJECTED`,
      title: PROBLEMS.TRANSFER_REJECTED.title,
      status: 422,
      detail: "rejected",
      code: "TRANSFER_REJECTED",
      requestId: "req-2",
      errors: [{ path: "chatId", message: "bad" }],
      bitrix24: { error: "WRONG_CHAT", description: "chat not found" },
    });
  });
});
