import { describe, expect, it } from "vitest";
import { LOOPBACK_HOSTS, usesAllowedScheme } from "../lambda/domain/endpoint-url.ts";

describe("the schemes credentials may travel over", () => {
  it("is always https", () => {
    expect(usesAllowedScheme(new URL("https://acme.bitrix24.com/"), false)).toBe(true);
    expect(usesAllowedScheme(new URL("https://acme.bitrix24.com/"), true)).toBe(true);
  });

  it("is plain http only to a loopback host and only when allowed", () => {
    expect([...LOOPBACK_HOSTS].sort()).toEqual(["127.0.0.1", "[::1]", "localhost"]);
    for (const host of LOOPBACK_HOSTS) {
      expect(usesAllowedScheme(new URL(`http://${host}:8080/`), true)).toBe(true);
      expect(usesAllowedScheme(new URL(`http://${host}:8080/`), false)).toBe(false);
      expect(usesAllowedScheme(new URL(`ws://${host}:8080/`), true)).toBe(false);
    }
    expect(usesAllowedScheme(new URL("http://acme.bitrix24.com/"), true)).toBe(false);
    expect(usesAllowedScheme(new URL("http://127.0.0.2/"), true)).toBe(false);
  });
});
