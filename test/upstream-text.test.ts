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
