import { describe, expect, it } from "vitest";
import { tokenUrlFor } from "../lambda/portals/oauth/token-endpoint.ts";
import { captureLogs } from "./support/capture-logs.ts";
import { failure } from "./support/failure.ts";
import {
  OAUTH_SECRET,
  oauthContainer,
  oauthSecretValue,
  storedSecret,
  useOAuthHarness,
} from "./support/oauth-portal.ts";

/** Where a refresh goes: the token's own `server_endpoint`, only on Bitrix24's OAuth servers. */
const DEFAULT = "https://oauth.bitrix.info/oauth/token/";

describe("tokenUrlFor", () => {
  it("uses the configured URL when the token names no server, or names the configured one", () => {
    expect(tokenUrlFor(undefined, DEFAULT)).toBe(DEFAULT);
    expect(tokenUrlFor("https://oauth.bitrix.info/rest/", DEFAULT)).toBe(DEFAULT);
    const loopback = "http://127.0.0.1:4010/oauth/token/";
    expect(tokenUrlFor("http://127.0.0.1:4010/rest/", loopback)).toBe(loopback);
  });

  it("follows the token to Bitrix24's other OAuth server (oauth.bitrix24.tech)", () => {
    expect(tokenUrlFor("https://oauth.bitrix24.tech/rest/", DEFAULT)).toBe(
      "https://oauth.bitrix24.tech/oauth/token/",
    );
  });

  it("follows the token to either Bitrix24 server when another token URL is configured", () => {
    const loopback = "http://127.0.0.1:4010/oauth/token/";
    expect(tokenUrlFor("https://oauth.bitrix.info/rest/", loopback)).toBe(
      "https://oauth.bitrix.info/oauth/token/",
    );
    expect(tokenUrlFor("https://oauth.bitrix24.tech/rest/", loopback)).toBe(
      "https://oauth.bitrix24.tech/oauth/token/",
    );
  });

  it.each([
    ["another host", "https://oauth.evil.example/rest/"],
    ["a look-alike host", "https://oauth.bitrix.info.evil.example/rest/"],
    ["plain http", "http://oauth.bitrix24.tech/rest/"],
    ["another port", "https://oauth.bitrix24.tech:8443/rest/"],
    ["not a URL", "oauth.bitrix24.tech"],
    ["the configured host over http", "http://oauth.bitrix.info/rest/"],
  ])("refuses %s", (_name, serverEndpoint) => {
    expect(tokenUrlFor(serverEndpoint, DEFAULT)).toBeUndefined();
  });
});

describe("refreshing an application's tokens", () => {
  const world = useOAuthHarness();
  const expired = () => ({ expiresAt: Math.floor(Date.now() / 1000) - 60 });

  it("never sends the refresh (and the app's client secret) to an untrusted server_endpoint", async () => {
    const grant = world.sim.installApp();
    world.model.seed(
      OAUTH_SECRET,
      oauthSecretValue(world.sim, grant, {
        ...expired(),
        serverEndpoint: "https://oauth.evil.example/rest/",
      }),
    );
    const error = await failure(
      oauthContainer(world.sim).transfer(
        { chatId: 112, target: { operatorId: 12 }, leave: false },
        Date.now() + 10_000,
      ),
    );
    expect(error.code).toBe("PORTAL_MISCONFIGURED");
    expect(error.details.detail).toContain("server_endpoint");
    expect(world.sim.tokenRequests).toEqual([]);
    expect(world.sim.ledger).toEqual([]);
  });

  it("refreshes at the token's server and keeps the server_endpoint it answered with", async () => {
    const grant = world.sim.installApp();
    world.model.seed(
      OAUTH_SECRET,
      oauthSecretValue(world.sim, grant, { ...expired(), serverEndpoint: `${world.sim.url}/rest/` }),
    );
    await oauthContainer(world.sim).transfer(
      { chatId: 112, target: { operatorId: 12 }, leave: false },
      Date.now() + 10_000,
    );
    expect(world.sim.tokenRequests).toHaveLength(1);
    expect(storedSecret(world.model).oauth.serverEndpoint).toBe(`${world.sim.url}/rest/`);
  });

  it("takes a renamed portal's new client_endpoint from the token server, uses it, and logs the new host", async () => {
    const grant = world.sim.installApp();
    world.model.seed(OAUTH_SECRET, oauthSecretValue(world.sim, grant, expired()));
    const oldHost = `127.0.0.1:${world.sim.port}`;
    const newUrl = await world.sim.movePortal();
    const logs = captureLogs();
    try {
      await oauthContainer(world.sim).transfer(
        { chatId: 112, target: { operatorId: 12 }, leave: false },
        Date.now() + 10_000,
      );
    } finally {
      logs.stop();
    }
    expect(storedSecret(world.model).oauth.clientEndpoint).toBe(`${newUrl}/rest/`);
    expect(logs.text()).toContain("the OAuth server gave the portal a new address");
    expect(logs.text()).toContain(new URL(newUrl).host);
    expect(new URL(newUrl).host).not.toBe(oldHost);
    expect(world.sim.ledger).toHaveLength(1);
  });
});
