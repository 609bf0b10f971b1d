import { describe, expect, it } from "vitest";
import { TransferError } from "../lambda/domain/problems.ts";
import { parseWebhookSecret } from "../lambda/portals/portal-secret.ts";

/** Webhook URL validation: the URL carries a secret, so anything unexpected in it is refused. */

const strict = { allowHttpLoopback: false };
const local = { allowHttpLoopback: true };
const CODE = "s3cr3tW3bh00kC0de";

const secret = (webhookUrl: string) => JSON.stringify({ webhookUrl, clientId: "c1" });
const restBase = (webhookUrl: string, options = strict) =>
  parseWebhookSecret(secret(webhookUrl), options).restBase;

function problem(webhookUrl: string, options = strict): TransferError {
  try {
    parseWebhookSecret(secret(webhookUrl), options);
  } catch (error) {
    if (error instanceof TransferError) return error;
    throw error;
  }
  throw new Error(`expected ${webhookUrl} to be refused`);
}

describe("webhook URL validation", () => {
  it.each([
    [`https://acme.bitrix24.com/rest/1/${CODE}/`, `https://acme.bitrix24.com/rest/1/${CODE}/`],
    [`https://acme.bitrix24.com/rest/1/${CODE}`, `https://acme.bitrix24.com/rest/1/${CODE}/`],
    [`https://acme.bitrix24.com:8443/rest/10/a_B9/`, `https://acme.bitrix24.com:8443/rest/10/a_B9/`],
    [`https://acme.bitrix24.com/rest/123/x`, `https://acme.bitrix24.com/rest/123/x/`],
  ])("accepts %s as the REST base %s", (url, base) => {
    expect(restBase(url)).toBe(base);
  });

  it("adds no field the secret did not have", () => {
    expect(
      Object.keys(parseWebhookSecret(secret(`https://acme.bitrix24.com/rest/1/${CODE}/`), strict)),
    ).toEqual(["restBase", "clientId"]);
  });

  it.each([
    ["a username only", `https://user@acme.bitrix24.com/rest/1/${CODE}/`],
    ["a password only", `https://:pw@acme.bitrix24.com/rest/1/${CODE}/`],
    ["a username and password", `https://user:pw@acme.bitrix24.com/rest/1/${CODE}/`],
    ["a query", `https://acme.bitrix24.com/rest/1/${CODE}/?a=1`],
    ["a fragment", `https://acme.bitrix24.com/rest/1/${CODE}/#x`],
    ["a path prefix", `https://acme.bitrix24.com/x/rest/1/${CODE}/`],
    ["a path suffix", `https://acme.bitrix24.com/rest/1/${CODE}/x`],
    ["a double trailing slash", `https://acme.bitrix24.com/rest/1/${CODE}//`],
    ["user id 0", `https://acme.bitrix24.com/rest/0/${CODE}/`],
    ["a user id with a leading zero", `https://acme.bitrix24.com/rest/01/${CODE}/`],
    ["a user id that is not a number", `https://acme.bitrix24.com/rest/a/${CODE}/`],
    ["no user id", `https://acme.bitrix24.com/rest//${CODE}/`],
    ["no webhook code", "https://acme.bitrix24.com/rest/1/"],
    ["a code with a hyphen", "https://acme.bitrix24.com/rest/1/ab-cd/"],
    ["the method already in the path", `https://acme.bitrix24.com/rest/1/${CODE}/profile.json`],
    ["not /rest", `https://acme.bitrix24.com/api/1/${CODE}/`],
    ["plain http", `http://acme.bitrix24.com/rest/1/${CODE}/`],
    ["another scheme", `ftp://acme.bitrix24.com/rest/1/${CODE}/`],
    ["no URL at all", "acme.bitrix24.com/rest/1/x/"],
  ])("refuses a URL with %s, without echoing it", (_, url) => {
    const error = problem(url);
    expect(error.code).toBe("PORTAL_MISCONFIGURED");
    expect(error.message).not.toContain(CODE);
    expect(error.message).not.toContain("acme");
  });

  it("allows plain http only to loopback hosts, and only when enabled", () => {
    for (const host of ["127.0.0.1", "localhost", "[::1]", "127.0.0.1:8080"]) {
      expect(restBase(`http://${host}/rest/1/${CODE}/`, local)).toBe(`http://${host}/rest/1/${CODE}/`);
      expect(problem(`http://${host}/rest/1/${CODE}/`, strict).code).toBe("PORTAL_MISCONFIGURED");
    }
    for (const host of ["127.0.0.2", "acme.bitrix24.com", "localhost.example", "[::2]"]) {
      expect(problem(`http://${host}/rest/1/${CODE}/`, local).code).toBe("PORTAL_MISCONFIGURED");
    }
    expect(problem(`ftp://127.0.0.1/rest/1/${CODE}/`, local).code).toBe("PORTAL_MISCONFIGURED");
    expect(restBase(`https://127.0.0.1/rest/1/${CODE}/`, strict)).toBe(`https://127.0.0.1/rest/1/${CODE}/`);
  });
});

describe("what a refused portal secret says", () => {
  const detail = (raw: string, options = strict) => {
    try {
      parseWebhookSecret(raw, options);
    } catch (error) {
      if (error instanceof TransferError) return error.details.detail;
      throw error;
    }
    throw new Error("expected the secret to be refused");
  };

  it("names the check that failed, never the value", () => {
    expect(detail("{")).toMatch(/not JSON/);
    expect(detail(JSON.stringify({ webhookUrl: 5, clientId: "c1" }))).toMatch(/invalid fields: webhookUrl$/);
    expect(detail("5")).toMatch(/invalid fields: \(value\)$/);
    expect(detail(secret("not a url"))).toMatch(/is not a URL/);
    expect(detail(secret(`http://acme.bitrix24.com/rest/1/${CODE}/`))).toMatch(/must use https/);
    expect(detail(secret(`https://acme.bitrix24.com/x/rest/1/${CODE}/`))).toMatch(/must look like/);
  });
});
