import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { refreshTokens } from "../lambda/portals/oauth/token-endpoint.ts";
import { type HostileUpstream, startHostileUpstream } from "./support/hostile-upstream.ts";

/**
 * The refresh as Bitrix24's OAuth server takes it (docs: oauth/index.md, "Extending OAuth authorization")
 * and every answer it can give, read into what the OAuth session needs: a pair, or which kind of failure
 * (a dead grant, an app refused, or a transient fault after which the refresh may have happened).
 */
let upstream: HostileUpstream;
beforeAll(async () => {
  upstream = await startHostileUpstream();
});
afterAll(() => upstream.close());
beforeEach(() => {
  upstream.requests.length = 0;
});

const grant = { clientId: "app.0123", clientSecret: "cl1entS3cret", refreshToken: "r3fresh" };
const tokenUrl = () => `${upstream.url}/oauth/token/`;
const budget = (ms = 5000) => ({ deadline: Date.now() + ms, attemptTimeoutMs: 2000 });
const answer = (status: number, body: unknown) =>
  upstream.answer(() => ({ status, body: typeof body === "string" ? body : JSON.stringify(body) }));
const refresh = () => refreshTokens(tokenUrl(), grant, budget());

describe("the refresh request", () => {
  it("is a GET to the token URL carrying the grant in the query", async () => {
    answer(200, { access_token: "a1", refresh_token: "r1" });
    await refresh();
    expect(upstream.requests).toHaveLength(1);
    const [sent] = upstream.requests;
    expect(sent?.method).toBe("GET");
    expect(sent?.headers.accept).toBe("application/json");
    const url = new URL(sent?.url ?? "", upstream.url);
    expect(url.pathname).toBe("/oauth/token/");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      grant_type: "refresh_token",
      client_id: "app.0123",
      client_secret: "cl1entS3cret",
      refresh_token: "r3fresh",
    });
  });

  it("is sent with exactly the least time an attempt needs (200 ms), and not with less", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      answer(200, { access_token: "a1", refresh_token: "r1" });
      expect(
        await refreshTokens(tokenUrl(), grant, { deadline: Date.now() + 200, attemptTimeoutMs: 2000 }),
      ).toMatchObject({ ok: true });
      expect(
        await refreshTokens(tokenUrl(), grant, { deadline: Date.now() + 199, attemptTimeoutMs: 2000 }),
      ).toMatchObject({
        ok: false,
        error: { code: "UPSTREAM_TIMEOUT" },
      });
      expect(upstream.requests).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("waits no longer than one attempt's time, however far the deadline", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/oauth/token/`;
      const outcome = await refreshTokens(url, grant, {
        deadline: Date.now() + 60_000,
        attemptTimeoutMs: 100,
      });
      expect(outcome).toMatchObject({ ok: false, failure: "transient", error: { code: "UPSTREAM_TIMEOUT" } });
      expect(!outcome.ok && outcome.error.details.detail).toBe(
        "Bitrix24's OAuth server did not answer within 100 ms after the request was sent",
      );
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("is not sent when too little time is left for it", async () => {
    answer(200, { access_token: "a1", refresh_token: "r1" });
    const outcome = await refreshTokens(tokenUrl(), grant, budget(150));
    expect(outcome).toMatchObject({ ok: false, failure: "transient", error: { code: "UPSTREAM_TIMEOUT" } });
    expect(upstream.requests).toHaveLength(0);
  });

  it("is not sent to a server the token names but this service does not trust", async () => {
    const outcome = await refreshTokens(
      tokenUrl(),
      { ...grant, serverEndpoint: "https://oauth.evil.example/rest/" },
      budget(),
    );
    expect(outcome).toMatchObject({ ok: false, failure: "refused", error: { code: "PORTAL_MISCONFIGURED" } });
    expect(!outcome.ok && outcome.error.details.detail).toContain(
      "(oauth.bitrix.info, oauth.bitrix24.tech or B24_OAUTH_TOKEN_URL)",
    );
    expect(upstream.requests).toHaveLength(0);
  });
});

describe("a token answer", () => {
  it("gives the new pair with its lifetime and endpoints", async () => {
    answer(200, {
      access_token: "a1",
      refresh_token: "r1",
      expires_in: 3600,
      expires: 1_900_000_000,
      client_endpoint: "https://new.bitrix24.example/rest/",
      server_endpoint: "https://oauth.bitrix.info/rest/",
    });
    expect(await refresh()).toEqual({
      ok: true,
      answer: {
        accessToken: "a1",
        refreshToken: "r1",
        expiresIn: 3600,
        expires: 1_900_000_000,
        clientEndpoint: "https://new.bitrix24.example/rest/",
        serverEndpoint: "https://oauth.bitrix.info/rest/",
      },
    });
  });

  it("reads numbers sent as strings, and leaves out what is not a number or not a string", async () => {
    answer(200, {
      access_token: "a1",
      refresh_token: "r1",
      expires_in: "3600",
      expires: "",
      client_endpoint: 5,
      server_endpoint: null,
    });
    // Strict: a field left out is absent, not set to undefined.
    expect(await refresh()).toStrictEqual({
      ok: true,
      answer: { accessToken: "a1", refreshToken: "r1", expiresIn: 3600 },
    });
    answer(200, { access_token: "a1", refresh_token: "r1", expires_in: "soon", expires: "Infinity" });
    expect(await refresh()).toStrictEqual({ ok: true, answer: { accessToken: "a1", refreshToken: "r1" } });
    // Number() would make 0 of null and [] and 1 of true: only strings are read as numbers.
    answer(200, { access_token: "a1", refresh_token: "r1", expires_in: null, expires: true });
    expect(await refresh()).toStrictEqual({ ok: true, answer: { accessToken: "a1", refreshToken: "r1" } });
    answer(200, { access_token: "a1", refresh_token: "r1", expires_in: [], expires: [7] });
    expect(await refresh()).toStrictEqual({ ok: true, answer: { accessToken: "a1", refreshToken: "r1" } });
  });

  it.each([
    ["no access token", { refresh_token: "r1" }],
    ["an empty access token", { access_token: "", refresh_token: "r1" }],
    ["no refresh token", { access_token: "a1" }],
    ["an empty refresh token", { access_token: "a1", refresh_token: "" }],
    ["a number for a token", { access_token: 1, refresh_token: "r1" }],
  ])(
    "without a usable pair (%s) is a transient failure: the refresh may have happened",
    async (_name, body) => {
      answer(200, body);
      expect(await refresh()).toMatchObject({
        ok: false,
        failure: "transient",
        error: { code: "UPSTREAM_ERROR" },
      });
    },
  );
});

describe("a failed refresh", () => {
  it("with invalid_grant is a dead grant: the stored pair must be replaced", async () => {
    answer(400, { error: "invalid_grant", error_description: "expired" });
    const outcome = await refresh();
    expect(outcome).toMatchObject({
      ok: false,
      failure: "dead-grant",
      error: { code: "PORTAL_MISCONFIGURED", details: { bitrix24: { error: "invalid_grant" } } },
    });
    expect(!outcome.ok && outcome.error.details.detail).toMatch(
      /refused the stored refresh token .*put a new token pair/,
    );
  });

  it("with the app refused is for an admin to fix", async () => {
    for (const error of ["invalid_client", "PAYMENT_REQUIRED"]) {
      answer(401, { error });
      const outcome = await refresh();
      expect(outcome).toMatchObject({
        ok: false,
        failure: "refused",
        error: { code: "PORTAL_MISCONFIGURED" },
      });
      expect(!outcome.ok && outcome.error.details.detail).toContain(error);
    }
  });

  it("is an error even when it comes with HTTP 200", async () => {
    answer(200, { error: "invalid_grant", access_token: "a1", refresh_token: "r1" });
    expect(await refresh()).toMatchObject({ ok: false, failure: "dead-grant" });
  });

  it("by a server fault, a rate limit or an answer without a code is transient", async () => {
    for (const [status, body] of [
      [500, { error: "server_error" }],
      [503, "<html>busy</html>"],
      [429, { error: "too_many" }],
      [400, "not json"],
      [200, "not json"],
      [403, {}],
    ] as const) {
      answer(status, body);
      const outcome = await refresh();
      expect(outcome).toMatchObject({ ok: false, failure: "transient", error: { code: "UPSTREAM_ERROR" } });
      expect(!outcome.ok && outcome.error.details.detail).toContain(`HTTP ${status}`);
    }
  });

  it("names the status and the code, when there is one", async () => {
    answer(500, { error: "server_error" });
    const withCode = await refresh();
    expect(!withCode.ok && withCode.error.details).toStrictEqual({
      detail: "Bitrix24's OAuth server failed (HTTP 500 server_error)",
      bitrix24: { error: "server_error" },
    });
    answer(503, "busy");
    const without = await refresh();
    expect(!without.ok && without.error.details).toStrictEqual({
      detail: "Bitrix24's OAuth server failed (HTTP 503)",
    });
  });

  it("takes an error that is not a code (a sentence, a quoted URL) for no code at all", async () => {
    answer(400, { error: "see https://example.invalid/help" });
    const outcome = await refresh();
    expect(outcome).toMatchObject({ ok: false, failure: "transient" });
    expect(!outcome.ok && Object.keys(outcome.error.details)).not.toContain("bitrix24");
  });

  it("reads no pair from an answer larger than any token answer (1 MiB)", async () => {
    const padding = "x".repeat(1024 * 1024);
    answer(200, { access_token: "a1", refresh_token: "r1", padding });
    expect(await refresh()).toMatchObject({ ok: false, failure: "transient" });
  });

  it("because the server could not be reached is transient, and names no URL", async () => {
    const closed = await startHostileUpstream();
    const url = `${closed.url}/oauth/token/`;
    await closed.close();
    const outcome = await refreshTokens(url, grant, budget());
    expect(outcome).toMatchObject({ ok: false, failure: "transient" });
    expect(JSON.stringify(!outcome.ok && outcome.error.details)).not.toContain("r3fresh");
  });
});
