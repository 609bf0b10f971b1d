import { describe, expect, it } from "vitest";
import { errorPolicy } from "../lambda/bitrix24/error-policy.ts";

/**
 * Where Bitrix24's module code and its REST docs give different HTTP statuses for the same error
 * (shared contract: "where [D] says otherwise it is noted — accept both"), the policy is the same for
 * both: it is decided by the error code, the status only backs up unknown codes.
 */
describe("the error policy accepts both the code's and the docs' status", () => {
  it.each([
    // [C] rest/lib vs [D] b24restdocs
    ["INVALID_CREDENTIALS", 401, 403],
    ["insufficient_scope", 401, 403],
    ["PORTAL_DELETED", 403, 500],
    ["ERROR_CORE", 400, 500],
  ])("%s: HTTP %i and HTTP %i are handled alike", (code, codeStatus, docsStatus) => {
    expect(errorPolicy(codeStatus, code)).toEqual(errorPolicy(docsStatus, code));
  });

  it("treats a refusal that ran nothing as safe, and anything that may have run as unknown", () => {
    expect(errorPolicy(503, "QUERY_LIMIT_EXCEEDED")).toMatchObject({ retry: true });
    expect(errorPolicy(400, "OPERATOR_WRONG")).toMatchObject({ retry: false, retryOnceAfterMs: 500 });
    for (const code of ["ERROR_CORE", "INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER"]) {
      expect(errorPolicy(500, code)).toMatchObject({
        code: "OUTCOME_UNKNOWN",
        outcomeUnknown: true,
        retry: false,
      });
    }
    expect(errorPolicy(502, undefined)).toMatchObject({ code: "OUTCOME_UNKNOWN", outcomeUnknown: true });
    expect(errorPolicy(500, "SOMETHING_NEW")).toMatchObject({ outcomeUnknown: true });
    expect(errorPolicy(400, "SOMETHING_NEW")).toEqual({ code: "UPSTREAM_ERROR", retry: false });
    expect(errorPolicy(429, undefined)).toMatchObject({ code: "RATE_LIMITED", retry: false });
    // An unknown 401 is reported as the portal's setup, without a re-read of the secret (issue 24).
    expect(errorPolicy(401, "SOMETHING_NEW")).toEqual({ code: "PORTAL_MISCONFIGURED", retry: false });
  });
});
