import { describe, expect, it } from "vitest";
import {
  CLIENT_NAME_PATTERN,
  ClientTokensFormatError,
  findClient,
  parseClientTokens,
} from "../lambda/auth/client-tokens.ts";
import { hashToken } from "../lambda/auth/token-hash.ts";

const secret = (entries: Record<string, unknown>) => JSON.stringify(entries);

describe("the client-token table", () => {
  it("keeps enabled clients with a SHA-256 hex digest and says why it ignores the others", () => {
    const table = parseClientTokens(
      secret({
        crm: hashToken("crm-token"),
        removed: hashToken("removed-token"),
        upper: hashToken("x").toUpperCase(),
        short: hashToken("x").slice(1),
        long: `${hashToken("x")}0`,
        number: 42,
        list: [hashToken("x")],
      }),
      ["crm", "upper", "short", "long", "number", "list"],
    );
    expect(table.entries).toEqual([{ client: "crm", hash: Buffer.from(hashToken("crm-token"), "hex") }]);
    expect(table.ignored).toEqual([
      { client: "removed", reason: "not enabled in the stack configuration" },
      { client: "upper", reason: "not a SHA-256 hex digest" },
      { client: "short", reason: "not a SHA-256 hex digest" },
      { client: "long", reason: "not a SHA-256 hex digest" },
      { client: "number", reason: "not a SHA-256 hex digest" },
      { client: "list", reason: "not a SHA-256 hex digest" },
    ]);
  });

  it.each([
    ["not JSON", "{", "the client-token secret is not JSON"],
    ["an array", "[]", "must be a JSON object"],
    ["null", "null", "must be a JSON object"],
    ["a string", '"abc"', "must be a JSON object"],
  ])("refuses a secret that is %s", (_, value, message) => {
    expect(() => parseClientTokens(value, ["crm"])).toThrow(ClientTokensFormatError);
    expect(() => parseClientTokens(value, ["crm"])).toThrow(message);
    try {
      parseClientTokens(value, ["crm"]);
    } catch (error) {
      expect((error as Error).name).toBe("ClientTokensFormatError");
    }
  });
});

describe("finding the client of a token", () => {
  const table = parseClientTokens(
    secret({ first: hashToken("one"), second: hashToken("two"), again: hashToken("one") }),
    ["first", "second", "again"],
  );

  it("names the client whose hash matches, the first one if two share a token", () => {
    expect(findClient(table, "two")).toBe("second");
    expect(findClient(table, "one")).toBe("first");
  });

  it("finds nobody for an unknown, empty or near-miss token", () => {
    expect(findClient(table, "three")).toBeUndefined();
    expect(findClient(table, "")).toBeUndefined();
    expect(findClient(table, "two ")).toBeUndefined();
    expect(findClient({ entries: [], ignored: [] }, "one")).toBeUndefined();
  });
});

describe("client names", () => {
  it("are 1-64 characters starting with a letter or digit", () => {
    expect(CLIENT_NAME_PATTERN.test("a")).toBe(true);
    expect(CLIENT_NAME_PATTERN.test(`a${"b".repeat(63)}`)).toBe(true);
    expect(CLIENT_NAME_PATTERN.test(`a${"b".repeat(64)}`)).toBe(false);
    expect(CLIENT_NAME_PATTERN.test("crm.prod_1-a")).toBe(true);
    expect(CLIENT_NAME_PATTERN.test("-crm")).toBe(false);
    expect(CLIENT_NAME_PATTERN.test("crm prod")).toBe(false);
    expect(CLIENT_NAME_PATTERN.test("x crm")).toBe(false);
    expect(CLIENT_NAME_PATTERN.test("crm x")).toBe(false);
  });
});
