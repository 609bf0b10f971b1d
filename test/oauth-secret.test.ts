import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../lambda/config.ts";
import { TransferError } from "../lambda/domain/problems.ts";
import { documentWithPair, restBaseFromEndpoint } from "../lambda/portals/oauth/secret.ts";
import { parsePortalSecret } from "../lambda/portals/portal-secret.ts";

const strict = { allowHttpLoopback: false };
const ACCESS = "acc3ssT0k3nAcc3ssT0k3n0000000000";
const REFRESH = "r3fr3shT0k3nR3fr3shT0k3n00000000";
const CLIENT_SECRET = "cl13ntS3cr3tCl13ntS3cr3t";

const oauth = (fields: Record<string, unknown> = {}, top: Record<string, unknown> = {}) =>
  JSON.stringify({
    oauth: {
      domain: "acme.bitrix24.com",
      clientId: "app.573ad8a0346747.09223434",
      clientSecret: CLIENT_SECRET,
      accessToken: ACCESS,
      refreshToken: REFRESH,
      expiresAt: 1_800_000_000,
      ...fields,
    },
    ...top,
  });

function failure(raw: string, versionId: string | undefined = "v1"): TransferError {
  try {
    parsePortalSecret(raw, versionId, strict);
  } catch (error) {
    if (error instanceof TransferError) return error;
    throw error;
  }
  throw new Error("expected the secret to be rejected");
}

describe("OAuth portal secret", () => {
  it("parses the app, the pair and the version, with https://<domain>/rest/ as the REST base (no bot: the app's own acts)", () => {
    const secret = parsePortalSecret(oauth({}, { botId: 7, clientId: "bot-client" }), "v1", strict);
    expect(secret).toMatchObject({
      kind: "oauth",
      oauth: {
        app: { clientId: "app.573ad8a0346747.09223434", clientSecret: CLIENT_SECRET },
        pair: {
          accessToken: ACCESS,
          refreshToken: REFRESH,
          expiresAt: 1_800_000_000_000,
          restBase: "https://acme.bitrix24.com/rest/",
        },
        access: {},
        versionId: "v1",
      },
    });
  });

  it("prefers a stored clientEndpoint, and allows plain http only on loopback when enabled", () => {
    const stored = parsePortalSecret(
      oauth({ clientEndpoint: "https://renamed.bitrix24.com/rest/" }),
      "v1",
      strict,
    );
    expect(stored.kind === "oauth" && stored.oauth.pair.restBase).toBe("https://renamed.bitrix24.com/rest/");
    const loopback = parsePortalSecret(oauth({ domain: "127.0.0.1:8080" }), "v1", {
      allowHttpLoopback: true,
    });
    expect(loopback.kind === "oauth" && loopback.oauth.pair.restBase).toBe("http://127.0.0.1:8080/rest/");
    const strictLoopback = parsePortalSecret(oauth({ domain: "127.0.0.1:8080" }), "v1", strict);
    expect(strictLoopback.kind === "oauth" && strictLoopback.oauth.pair.restBase).toBe(
      "https://127.0.0.1:8080/rest/",
    );
  });

  it("accepts only https …/rest/ endpoints from a token answer", () => {
    expect(restBaseFromEndpoint("https://acme.bitrix24.com/rest/", false)).toBe(
      "https://acme.bitrix24.com/rest/",
    );
    expect(restBaseFromEndpoint("https://acme.bitrix24.com/rest", false)).toBe(
      "https://acme.bitrix24.com/rest/",
    );
    for (const bad of [
      "http://acme.bitrix24.com/rest/",
      "https://acme.bitrix24.com/elsewhere/",
      "https://u:p@acme.bitrix24.com/rest/",
      "https://acme.bitrix24.com/rest/?x=1",
      "not a url",
    ]) {
      expect(restBaseFromEndpoint(bad, false)).toBeUndefined();
    }
  });

  it.each([
    ["a missing refresh token", oauth({ refreshToken: undefined })],
    ["an empty client secret", oauth({ clientSecret: "" })],
    ["a domain with a scheme", oauth({ domain: `https://acme.bitrix24.com/${REFRESH}` })],
    ["expiresAt as text", oauth({ expiresAt: ACCESS })],
    ["a bad clientEndpoint", oauth({ clientEndpoint: `http://evil.example/${ACCESS}` })],
    ["a bad serverEndpoint", oauth({ serverEndpoint: 42 })],
    ["both kinds at once", oauth({}, { webhookUrl: `https://acme.bitrix24.com/rest/1/${REFRESH}/` })],
    ["oauth not an object", JSON.stringify({ oauth: ACCESS })],
  ])("rejects %s with PORTAL_MISCONFIGURED and never echoes a secret", (_name, raw) => {
    const error = failure(raw);
    expect(error.code).toBe("PORTAL_MISCONFIGURED");
    const seen = JSON.stringify({ message: error.message, details: error.details });
    for (const secret of [ACCESS, REFRESH, CLIENT_SECRET]) expect(seen).not.toContain(secret);
  });

  it("needs the version it was read from, for compare-and-swap", () => {
    expect(() => parsePortalSecret(oauth(), undefined, strict)).toThrow(/version/);
  });

  it("rewrites only the pair and the endpoint, keeping every other key", () => {
    const document = JSON.parse(oauth({}, { botId: 7, note: "ops: see runbook" }));
    const rewritten = JSON.parse(
      documentWithPair(document, {
        accessToken: "newAccess",
        refreshToken: "newRefresh",
        expiresAt: 1_900_000_000_999,
        restBase: "https://acme.bitrix24.com/rest/",
      }),
    );
    expect(rewritten).toEqual({
      oauth: {
        ...document.oauth,
        accessToken: "newAccess",
        refreshToken: "newRefresh",
        expiresAt: 1_900_000_000,
        clientEndpoint: "https://acme.bitrix24.com/rest/",
      },
      botId: 7,
      note: "ops: see runbook",
    });
  });
});

describe("OAuth configuration", () => {
  const base = { PORTALS: JSON.stringify({ main: "s/main", eu: "s/eu" }), DEFAULT_PORTAL: "main" };

  it("defaults to Bitrix24's token endpoint and no OAuth portals", () => {
    const config = loadConfig(base);
    expect(config.oauthTokenUrl).toBe("https://oauth.bitrix.info/oauth/token/");
    expect([...config.oauthPortals]).toEqual([]);
  });

  it("reads OAUTH_PORTALS as a list of configured portals", () => {
    expect([...loadConfig({ ...base, OAUTH_PORTALS: '["eu"]' }).oauthPortals]).toEqual(["eu"]);
    expect(() => loadConfig({ ...base, OAUTH_PORTALS: '["nope"]' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, OAUTH_PORTALS: "eu" })).toThrow(ConfigError);
  });

  it("takes an https token URL, or plain http on loopback only when allowed", () => {
    expect(loadConfig({ ...base, B24_OAUTH_TOKEN_URL: "https://oauth.example/token/" }).oauthTokenUrl).toBe(
      "https://oauth.example/token/",
    );
    const loopback = { ...base, B24_OAUTH_TOKEN_URL: "http://127.0.0.1:9000/oauth/token/" };
    expect(loadConfig({ ...loopback, ALLOW_HTTP_LOOPBACK: "true" }).oauthTokenUrl).toBe(
      loopback.B24_OAUTH_TOKEN_URL,
    );
    expect(() => loadConfig(loopback)).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, B24_OAUTH_TOKEN_URL: "http://oauth.example/token/" })).toThrow(
      ConfigError,
    );
    expect(() =>
      loadConfig({ ...base, B24_OAUTH_TOKEN_URL: "https://oauth.example/token/?client_secret=x" }),
    ).toThrow(ConfigError);
  });
});
