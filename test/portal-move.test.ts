import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { callMethod } from "../lambda/bitrix24/client.ts";
import { followMove, isIpLiteral, registrableDomain } from "../lambda/bitrix24/portal-move.ts";
import { loadConfig } from "../lambda/config.ts";
import { TransferError } from "../lambda/domain/problems.ts";
import { takeBitrix24Usage } from "../lambda/observability/bitrix24-usage.ts";
import { PortalCaller } from "../lambda/service/portal-caller.ts";
import { failure } from "./support/failure.ts";
import { json, scriptedServers } from "./support/scripted-servers.ts";

/**
 * Issue 25, Medium 1: a redirect sent the webhook code, CLIENT_ID and message to any https host, for
 * the container's life. Only a move a portal could really make is followed now.
 */
const PATH = "/rest/1/secretcode/imopenlines.bot.session.transfer.json";
const cloud = new URL(`https://acme.bitrix24.com${PATH}`);
const onPremise = new URL(`https://crm.example.co.uk${PATH}`);
const policy = { allowHttpLoopback: false };

describe("Medium 1: which moves are followed", () => {
  const followed: [string, URL, string, string[]?][] = [
    ["another cloud portal name", cloud, "https://acme-renamed.bitrix24.com"],
    ["another Bitrix24 cloud zone", cloud, "https://acme.bitrix24.com.br"],
    ["a host of the portal's own domain", onPremise, "https://portal.example.co.uk"],
    ["the portal's registrable domain itself", onPremise, "https://example.co.uk"],
    ["a configured domain (on-premise)", onPremise, "https://crm.example.net", ["example.net"]],
  ];
  it.each(followed)("%s", (_name, from, origin, domains) => {
    const to = followMove(from, `${origin}${PATH}`, { ...policy, ...(domains ? { domains } : {}) });
    expect(to).toBeInstanceOf(URL);
    expect((to as URL).href).toBe(`${origin}${PATH}`);
  });

  const refused: [string, URL, string, string][] = [
    ["a private IPv4 address", cloud, `https://10.0.0.5:8443${PATH}`, "10.0.0.5"],
    ["the instance metadata address", cloud, `https://169.254.169.254${PATH}`, "169.254.169.254"],
    ["an IPv4 address in hex", cloud, `https://0x7f.1${PATH}`, "127.0.0.1"],
    ["an IPv6 address", cloud, `https://[fd00::1]${PATH}`, "[fd00::1]"],
    ["a scheme-relative address elsewhere", cloud, `//evil.example${PATH}`, "evil.example"],
    ["any other https host", cloud, `https://evil.example${PATH}`, "evil.example"],
    [
      "a look-alike suffix",
      cloud,
      `https://acme.bitrix24.com.evil.example${PATH}`,
      "acme.bitrix24.com.evil.example",
    ],
    ["a look-alike name", cloud, `https://evilbitrix24.com${PATH}`, "evilbitrix24.com"],
    ["a public suffix of the portal's domain", onPremise, `https://attacker.co.uk${PATH}`, "attacker.co.uk"],
    ["loopback, outside local runs", cloud, `https://127.0.0.1${PATH}`, "127.0.0.1"],
  ];
  it.each(refused)("refuses %s, naming the host but not the path", (_name, from, location, host) => {
    const refusal = followMove(from, location, policy);
    expect(refusal).toBeInstanceOf(TransferError);
    const { code, details } = refusal as TransferError;
    expect(code).toBe("PORTAL_MISCONFIGURED");
    expect(details.detail).toContain(`"${host}"`);
    expect(details.detail).not.toContain("secretcode");
  });

  it("still refuses another path, a query and plain http, whatever the host", () => {
    for (const location of [
      "https://acme2.bitrix24.com/rest/1/othercode/imopenlines.bot.session.transfer.json",
      `https://acme2.bitrix24.com${PATH}?x=1`,
      `http://acme2.bitrix24.com${PATH}`,
    ]) {
      expect(followMove(cloud, location, policy)).toBeInstanceOf(TransferError);
    }
  });

  it("takes a registrable domain from the last two labels, three under a country's public second level", () => {
    expect(
      [
        "a.b.example.com",
        "example.com",
        "crm.example.co.uk",
        "example.co.uk",
        "co.uk",
        "10.0.0.5",
        "localhost",
        "acme.bitrix24.com.br",
      ].map(registrableDomain),
    ).toEqual([
      "example.com",
      "example.com",
      "example.co.uk",
      "example.co.uk",
      undefined,
      undefined,
      undefined,
      "bitrix24.com.br",
    ]);
  });
});

describe("Medium 1: IP literals and registrable domains, exactly", () => {
  it("tells IP literals from names", () => {
    expect(["10.0.0.5", "10.10.10.10", "[fd00::1]"].map(isIpLiteral)).toEqual([true, true, true]);
    expect(["1.2.3.4x", "x1.2.3.4", "a[", "acme.bitrix24.com"].map(isIpLiteral)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it("never follows a move to an IP literal, even when a configured domain would match it", () => {
    expect(followMove(cloud, `https://10.0.0.5${PATH}`, { ...policy, domains: ["0.5"] })).toBeInstanceOf(
      TransferError,
    );
  });

  it("keeps two labels under a country code whose second level is no public suffix, and under a generic one", () => {
    expect(registrableDomain("crm.example.de")).toBe("example.de");
    expect(registrableDomain("shop.co.com")).toBe("co.com");
  });
});

describe("Medium 1: on the wire", () => {
  const { received, scripts, start, sentTimes, close } = scriptedServers();
  const secretsManager = mockClient(SecretsManagerClient);
  let oldBase: string;
  let newBase: string;
  beforeAll(async () => {
    oldBase = await start("old");
    newBase = await start("new");
  });
  afterAll(async () => {
    secretsManager.restore();
    await close();
  });
  beforeEach(() => {
    received.length = 0;
    takeBitrix24Usage();
    scripts.new = (res) => json(res, 200, { result: true, time: { operating: 1 } });
    secretsManager.reset();
    secretsManager.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({
        webhookUrl: `${oldBase}/rest/1/secretcode/`,
        clientId: "bot-client-id",
      }),
      VersionId: "v1",
    });
  });

  it("sends nothing to an https host outside the allowed domains, and says which host it was", async () => {
    scripts.old = (res, req) => res.writeHead(302, { location: `https://evil.example${req.url}` }).end();
    const error = await failure(
      callMethod(
        `${oldBase}/rest/1/secretcode/`,
        "imopenlines.bot.session.transfer",
        { CLIENT_ID: "x" },
        {
          deadline: Date.now() + 5_000,
          attemptTimeoutMs: 2_000,
          allowHttpLoopback: true,
        },
      ),
    );
    expect([error.code, error.details.attempts]).toEqual(["PORTAL_MISCONFIGURED", 1]);
    expect(error.details.detail).toContain('"evil.example"');
    expect(JSON.stringify(error.details)).not.toContain("secretcode");
    expect(sentTimes("old")).toBe(1);
  });

  const caller = (ttlSeconds: string) =>
    new PortalCaller(
      loadConfig({
        PORTALS: JSON.stringify({ main: "b24/main" }),
        ALLOW_HTTP_LOOPBACK: "true",
        SECRET_CACHE_TTL_SECONDS: ttlSeconds,
      }),
    );
  const make = () => ({ method: "imopenlines.bot.session.transfer", params: { CHAT_ID: 112 } });

  it("remembers a move for as long as the secret read with it is kept", async () => {
    scripts.old = (res, req) => res.writeHead(302, { location: `${newBase}${req.url}` }).end();
    const portals = caller("300");
    await portals.call("main", make, Date.now() + 5_000);
    await portals.call("main", make, Date.now() + 5_000);
    expect([sentTimes("old"), sentTimes("new")]).toEqual([1, 2]);
  });

  it("forgets a move with the secret: the old address is asked again, so an updated secret wins", async () => {
    scripts.old = (res, req) => res.writeHead(302, { location: `${newBase}${req.url}` }).end();
    const portals = caller("0");
    await portals.call("main", make, Date.now() + 5_000);
    await portals.call("main", make, Date.now() + 5_000);
    expect([sentTimes("old"), sentTimes("new")]).toEqual([2, 2]);
  });

  it("names the portal's configured host in the usage metrics, never the host it was sent to", async () => {
    scripts.old = (res, req) => res.writeHead(302, { location: `${newBase}${req.url}` }).end();
    await caller("300").call("main", make, Date.now() + 5_000);
    expect(takeBitrix24Usage().map((usage) => usage.portalHost)).toEqual([new URL(oldBase).host]);
  });
});
