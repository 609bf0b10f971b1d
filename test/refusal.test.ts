import { describe, expect, it } from "vitest";
import { refusal } from "../lambda/bitrix24/refusal.ts";
import { TransferError, UNKNOWN_OUTCOME_ADVICE } from "../lambda/domain/problems.ts";

/**
 * What a failed call's answer means (error-policy.ts decides per code and status; this builds the
 * problem): the same for a single call and a batch command (status 0).
 */
const plain = (r: ReturnType<typeof refusal>) => ({
  ...r,
  error: { code: r.error.code, details: r.error.details },
});

describe("a refusal", () => {
  it("that may have run is OUTCOME_UNKNOWN, keeping Bitrix24's code, and is never retried", () => {
    const bitrix24 = { error: "ERROR_CORE", description: "boom" };
    const r = refusal(500, bitrix24, false);
    expect(r.error).toBeInstanceOf(TransferError);
    expect(plain(r)).toStrictEqual({
      retry: false,
      outcomeUnknown: true,
      error: {
        code: "OUTCOME_UNKNOWN",
        details: { detail: `Bitrix24 failed with ERROR_CORE; ${UNKNOWN_OUTCOME_ADVICE}`, bitrix24 },
      },
    });
  });

  it("without an error code, on a 5xx, is OUTCOME_UNKNOWN naming the status", () => {
    expect(plain(refusal(503, undefined, false))).toStrictEqual({
      retry: false,
      outcomeUnknown: true,
      error: {
        code: "OUTCOME_UNKNOWN",
        details: { detail: `Bitrix24 answered HTTP 503 without an error code; ${UNKNOWN_OUTCOME_ADVICE}` },
      },
    });
  });

  it("of a read-only call that may have run is a plain upstream error, still marked unknown for the retry", () => {
    expect(plain(refusal(500, { error: "ERROR_CORE" }, true))).toStrictEqual({
      retry: false,
      outcomeUnknown: true,
      error: {
        code: "UPSTREAM_ERROR",
        details: { detail: "Bitrix24 failed with ERROR_CORE", bitrix24: { error: "ERROR_CORE" } },
      },
    });
    expect(plain(refusal(502, undefined, true)).error).toStrictEqual({
      code: "UPSTREAM_ERROR",
      details: { detail: "Bitrix24 answered HTTP 502 without an error code" },
    });
  });

  it("of the transfer names the code, with one more try after the queue lock", () => {
    expect(plain(refusal(400, { error: "OPERATOR_WRONG" }, false))).toStrictEqual({
      retry: false,
      outcomeUnknown: false,
      retryOnceAfterMs: 500,
      error: {
        code: "TRANSFER_REJECTED",
        details: {
          detail: "Bitrix24 rejected the transfer with OPERATOR_WRONG",
          bitrix24: { error: "OPERATOR_WRONG" },
        },
      },
    });
  });

  it("by the rate limit is retried, suggesting a wait", () => {
    expect(plain(refusal(503, { error: "QUERY_LIMIT_EXCEEDED" }, false))).toStrictEqual({
      retry: true,
      outcomeUnknown: false,
      error: {
        code: "RATE_LIMITED",
        details: {
          detail: "Bitrix24 is limiting requests for this portal (QUERY_LIMIT_EXCEEDED); try again later",
          bitrix24: { error: "QUERY_LIMIT_EXCEEDED" },
          retryAfter: 1,
        },
      },
    });
  });

  it.each([
    ["ACCESS_DENIED", /needs the bot's clientId .*imbot\.register.*no REST access/],
    ["BOT_ID_ERROR", /found no chat bot for these credentials \(BOT_ID_ERROR\)/],
    ["insufficient_scope", /needs the imopenlines scope/],
    ["PORTAL_DELETED", /refused the portal's credentials with PORTAL_DELETED; check the webhook/],
  ])("of the portal's setup (%s) says what to fix", (code, advice) => {
    const r = refusal(0, { error: code }, false);
    expect(r.error.code).toBe("PORTAL_MISCONFIGURED");
    expect(r.error.details.detail).toMatch(advice);
    expect(r).toMatchObject({ retry: false, outcomeUnknown: false });
  });

  it("with a code nobody knows is an upstream error naming it", () => {
    expect(plain(refusal(400, { error: "SOMETHING_NEW" }, false)).error).toStrictEqual({
      code: "UPSTREAM_ERROR",
      details: { detail: "Bitrix24 failed with SOMETHING_NEW", bitrix24: { error: "SOMETHING_NEW" } },
    });
  });
});
