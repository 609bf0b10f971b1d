import { describe, expect, it } from "vitest";
import { readBearerToken } from "../lambda/auth/bearer-token.ts";

const read = (authorization: string | undefined) => readBearerToken({ authorization });

describe("reading the bearer token", () => {
  it("takes the token after the scheme, in any case, with surrounding spaces", () => {
    expect(read("Bearer abc")).toEqual({ ok: true, token: "abc" });
    expect(read("bearer abc")).toEqual({ ok: true, token: "abc" });
    expect(read("BEARER   a-b.c_d~e+f/g==  ")).toEqual({ ok: true, token: "a-b.c_d~e+f/g==" });
  });

  it("reports a missing or blank header as missing", () => {
    expect(readBearerToken(undefined)).toEqual({ ok: false, reason: "missing" });
    expect(readBearerToken({})).toEqual({ ok: false, reason: "missing" });
    expect(read("")).toEqual({ ok: false, reason: "missing" });
    expect(read("   ")).toEqual({ ok: false, reason: "missing" });
  });

  it.each([
    ["another scheme", "Basic abc"],
    ["a scheme before Bearer", "Basic Bearer abc"],
    ["text before the scheme", "xBearer abc"],
    ["no space after the scheme", "Bearerabc"],
    ["the scheme alone", "Bearer"],
    ["the scheme and spaces", "Bearer   "],
    ["two tokens", "Bearer abc def"],
    ["text after padding", "Bearer abc=x"],
    ["a character outside b64token", "Bearer abc,def"],
    ["a tab instead of a space", "Bearer\tabc"],
  ])("rejects %s as malformed", (_, header) => {
    expect(read(header)).toEqual({ ok: false, reason: "malformed" });
  });

  it("accepts tokens up to 512 characters and no longer", () => {
    expect(read(`Bearer ${"a".repeat(512)}`)).toEqual({ ok: true, token: "a".repeat(512) });
    expect(read(`Bearer ${"a".repeat(513)}`)).toEqual({ ok: false, reason: "malformed" });
  });
});
