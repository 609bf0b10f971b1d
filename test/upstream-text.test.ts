import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TransferError } from "../lambda/domain/problems.ts";
import {
  boundedDetails,
  cutText,
  endpointSecrets,
  MAX_DESCRIPTION_CHARS,
  MAX_DETAIL_CHARS,
  MAX_FIELD_ERRORS,
  REDACTED,
  redactSecrets,
  safeErrorCode,
  UNREADABLE_ERROR_CODE,
  upstreamError,
} from "../lambda/domain/safe-text.ts";

const CODE = "w3bh00kC0deAbc123";
const BASE = `https://b24.example.com/rest/7/${CODE}/`;

describe("endpointSecrets", () => {
  it("names the REST base, its webhook code and the access token", () => {
    expect(endpointSecrets(BASE, "t0ken123")).toEqual([BASE, CODE, "t0ken123"]);
    expect(endpointSecrets("https://b24.example.com/rest/")).toEqual(["https://b24.example.com/rest/"]);
  });

  it("finds the code after a user id of several digits, and ignores an auth that is not a string", () => {
    const base = `https://b24.example.com/rest/1207/${CODE}/`;
    expect(endpointSecrets(base, { token: "t0ken123" })).toEqual([base, CODE]);
    expect(endpointSecrets(`https://b24.example.com/rest/1/${CODE}?x#y`)).toEqual([
      `https://b24.example.com/rest/1/${CODE}?x#y`,
      CODE,
    ]);
  });
});

describe("redactSecrets", () => {
  it("replaces known values, also URL-encoded", () => {
    const secret = "a/b+c=d e";
    expect(redactSecrets(`x ${secret} y ${encodeURIComponent(secret)} z`, [secret])).toBe(
      `x ${REDACTED} y ${REDACTED} z`,
    );
  });

  it("replaces secret shapes even when the value is unknown", () => {
    const text = `GET /rest/1/abc123def/x.json?auth=tok1234&refresh_token=r9 {"access_token":"zz99"} Bearer qq77`;
    const redacted = redactSecrets(text);
    for (const value of ["abc123def", "tok1234", "r9", "zz99", "qq77"]) expect(redacted).not.toContain(value);
    expect(redacted).toContain("/rest/1/[REDACTED]");
  });

  it("ignores values too short to be secrets, so ordinary words survive", () => {
    expect(redactSecrets("an error", ["an", ""])).toBe("an error");
    expect(redactSecrets("abcde abcdef", ["abcde"])).toBe("abcde abcdef");
    expect(redactSecrets("abcde abcdef", ["abcdef"])).toBe(`abcde ${REDACTED}`);
  });

  // Exact outputs: each shape must take the whole secret, every occurrence, and stop where it ends.
  it.each([
    ["/rest/12/abc123def/x.json", `/rest/12/${REDACTED}/x.json`],
    ["/rest/1/abc?auth=x", `/rest/1/${REDACTED}?auth=${REDACTED}`],
    ['"/rest/1/abc" and /rest/2/def&y', `"/rest/1/${REDACTED}" and /rest/2/${REDACTED}&y`],
    ["at /rest/1/a b", `at /rest/1/${REDACTED} b`],
    ["Authorization: Bearer  qq77.zz 'x'", `Authorization: Bearer  ${REDACTED} 'x'`],
    ["bearer a1 BEARER b2", `bearer ${REDACTED} BEARER ${REDACTED}`],
    [
      "access_token=a1&refresh_token=r2,client_secret=s3 auth=x4}",
      `access_token=${REDACTED}&refresh_token=${REDACTED},client_secret=${REDACTED} auth=${REDACTED}}`,
    ],
    ['{"auth" : "x4", "refresh_token":"r2"}', `{"auth" : "${REDACTED}", "refresh_token":"${REDACTED}"}`],
    ["AUTH=x4 auth:x5 author=x6", `AUTH=${REDACTED} auth:x5 author=x6`],
  ])("redacts %j exactly", (text, expected) => {
    expect(redactSecrets(text)).toBe(expected);
  });

  it("leaves no known secret in any text (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 6, maxLength: 40 }),
        fc.array(fc.string({ maxLength: 30 }), { maxLength: 5 }),
        (secret, parts) => {
          const text = parts.join(secret);
          return !redactSecrets(text, [secret]).includes(secret) || secret.includes(REDACTED);
        },
      ),
    );
  });
});

describe("safeErrorCode", () => {
  it("keeps Bitrix24's codes", () => {
    for (const code of ["QUERY_LIMIT_EXCEEDED", "invalid_token", "ERROR_CORE", "a.b-c_1"])
      expect(safeErrorCode(code, [BASE, CODE])).toBe(code);
  });

  it("replaces what is no code: too long, spaces, URLs, markup", () => {
    for (const error of ["x".repeat(65), "two words", BASE, "<b>", ""])
      expect(safeErrorCode(error)).toBe(UNREADABLE_ERROR_CODE);
  });

  it("replaces a code-shaped secret, or a piece of one", () => {
    expect(safeErrorCode(CODE, [BASE, CODE])).toBe(UNREADABLE_ERROR_CODE);
    expect(safeErrorCode(CODE.slice(0, 10), [CODE])).toBe(UNREADABLE_ERROR_CODE);
    expect(safeErrorCode(CODE.slice(0, 6), [CODE])).toBe(UNREADABLE_ERROR_CODE);
    // Five characters are too few to be told from a code; a code that holds a secret is no code.
    expect(safeErrorCode(CODE.slice(0, 5), [CODE])).toBe(CODE.slice(0, 5));
    expect(safeErrorCode(`${CODE}_X`, [CODE])).toBe(UNREADABLE_ERROR_CODE);
  });

  it("keeps a code of exactly 64 characters", () => {
    expect(safeErrorCode("E".repeat(64))).toBe("E".repeat(64));
  });
});

describe("upstreamError", () => {
  it("cuts a huge description after redacting it", () => {
    const description = `see ${BASE} `.repeat(100_000);
    const { error, description: cut } = upstreamError("ERROR_CORE", description, [BASE, CODE]);
    expect(error).toBe("ERROR_CORE");
    expect(cut?.length).toBeLessThanOrEqual(MAX_DESCRIPTION_CHARS);
    expect(cut).not.toContain(CODE);
    expect(cut?.endsWith("…")).toBe(true);
  });

  it("does not leave the head of a secret at the cut", () => {
    const description = `${"x".repeat(MAX_DESCRIPTION_CHARS - 5)}${CODE}`;
    expect(upstreamError("E", description, [CODE]).description).not.toContain(CODE.slice(0, 4));
  });

  it("drops a description that is not a string", () => {
    expect(upstreamError("E", { nested: BASE })).toEqual({ error: "E" });
  });
});

describe("cutText", () => {
  it("keeps short texts whole", () => {
    expect(cutText("abc", 3)).toBe("abc");
    expect(cutText("abcd", 3)).toBe("ab…");
  });
});

describe("boundedDetails, the last line of defence in every TransferError", () => {
  it("bounds the detail, the field errors and Bitrix24's texts of any problem", () => {
    const error = new TransferError("VALIDATION_FAILED", {
      detail: `failed at /rest/1/${CODE}/ `.repeat(10_000),
      errors: Array.from({ length: 1000 }, (_, i) => ({
        path: `k${i}`.repeat(500),
        message: "unknown field",
      })),
      bitrix24: { error: BASE, description: "y".repeat(100_000) },
    });
    expect(error.details.detail.length).toBeLessThanOrEqual(MAX_DETAIL_CHARS);
    expect(error.message.length).toBeLessThanOrEqual(MAX_DETAIL_CHARS + 40);
    expect(error.message).not.toContain(CODE);
    expect(error.details.errors).toHaveLength(MAX_FIELD_ERRORS);
    expect(error.details.errors?.every((field) => field.path.length <= 200)).toBe(true);
    expect(error.details.bitrix24).toEqual({
      error: UNREADABLE_ERROR_CODE,
      description: expect.stringMatching(/^y{299}…$/),
    });
  });

  it("adds no errors or Bitrix24 entry to a problem that has none", () => {
    expect(boundedDetails({ detail: "chat 112 is not found" })).toStrictEqual({
      detail: "chat 112 is not found",
    });
  });

  it("changes nothing in an ordinary problem", () => {
    const details = {
      detail: "chatId must be a positive integer",
      errors: [{ path: "chatId", message: "chatId must be a positive integer" }],
      bitrix24: { error: "WRONG_CHAT", description: "Chat not found" },
      retryAfter: 2,
    };
    expect(boundedDetails(details)).toEqual(details);
  });
});
