import { afterEach, describe, expect, it } from "vitest";
import {
  DEMO_APP,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from "../scripts/simulator/index.ts";

const TRANSFER = "imopenlines.bot.session.transfer";
const running: Simulator[] = [];

async function start(options: SimulatorOptions = {}) {
  const clock = { ms: Date.UTC(2026, 0, 1) };
  const sim = await startSimulator({ rateLimit: false, now: () => clock.ms, ...options });
  running.push(sim);
  return { sim, clock };
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

async function json(response: Response) {
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A REST call as an application makes it: /rest/<method> with `auth` in the body. */
const appCall = (
  sim: Simulator,
  auth: string,
  method = TRANSFER,
  params: object = { CHAT_ID: 112, USER_ID: 12 },
) =>
  fetch(`${sim.url}/rest/${method}.json`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...params, auth }),
  }).then(json);

/** The documented refresh: GET with the grant in the query. */
const refresh = (sim: Simulator, refreshToken: string, clientSecret: string = DEMO_APP.clientSecret) => {
  const url = new URL(sim.tokenUrl);
  url.search = new URLSearchParams({
    grant_type: "refresh_token",
    client_id: DEMO_APP.clientId,
    client_secret: clientSecret,
    refresh_token: refreshToken,
  }).toString();
  return fetch(url).then(json);
};

describe("simulator: OAuth applications", () => {
  it("accepts the installed app's access token for REST calls, with the app's scopes", async () => {
    const { sim } = await start();
    const grant = sim.installApp();
    expect(grant).toMatchObject({
      expires_in: 3600,
      client_endpoint: `${sim.url}/rest/`,
      scope: "imopenlines,imbot,im",
    });
    expect(await appCall(sim, grant.access_token)).toMatchObject({ status: 200, body: { result: true } });
    expect((await appCall(sim, grant.access_token, "scope", {})).body.result).toEqual([
      "imopenlines",
      "imbot",
      "im",
    ]);
    expect(sim.ledger).toMatchObject([{ chatId: 112, to: { userId: 12 } }]);
  });

  it("answers 401 expired_token after the token's lifetime on the injected clock", async () => {
    const { sim, clock } = await start({ accessTokenLifetimeSeconds: 60 });
    const grant = sim.installApp();
    clock.ms += 59_000;
    expect((await appCall(sim, grant.access_token)).status).toBe(200);
    clock.ms += 1_000;
    expect(await appCall(sim, grant.access_token)).toEqual({
      status: 401,
      body: { error: "expired_token", error_description: "The access token provided has expired" },
    });
    expect(sim.hits.at(-1)).toMatchObject({ status: 401, error: "expired_token" });
  });

  it("rotates: a refresh kills the refresh token used and the access token issued with it", async () => {
    const { sim } = await start();
    const first = sim.installApp();
    const renewed = await refresh(sim, first.refresh_token);
    expect(renewed.status).toBe(200);
    expect(renewed.body).toMatchObject({ expires_in: 3600, client_endpoint: `${sim.url}/rest/` });
    const second = renewed.body as { access_token: string; refresh_token: string };
    expect(second.refresh_token).not.toBe(first.refresh_token);

    expect((await appCall(sim, first.access_token)).body.error).toBe("invalid_token");
    expect((await appCall(sim, second.access_token)).status).toBe(200);
    expect(await refresh(sim, first.refresh_token)).toEqual({
      status: 400,
      body: { error: "invalid_grant", error_description: "Invalid refresh token" },
    });
    expect(sim.liveRefreshTokens()).toEqual([second.refresh_token]);
    expect(sim.tokenRequests.map((r) => [r.refreshTokenState, r.status, r.error])).toEqual([
      ["live", 200, undefined],
      ["used", 400, "invalid_grant"],
    ]);
  });

  it("of two concurrent refreshes with one token, exactly one wins", async () => {
    const { sim } = await start();
    const grant = sim.installApp();
    const answers = await Promise.all(Array.from({ length: 10 }, () => refresh(sim, grant.refresh_token)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.body.error === "invalid_grant")).toHaveLength(9);
  });

  it("refuses a wrong client secret, an unknown or expired refresh token, and tokens of a removed app", async () => {
    const { sim, clock } = await start({ refreshTokenLifetimeSeconds: 100 });
    const grant = sim.installApp();
    expect((await refresh(sim, grant.refresh_token, "wrong")).body.error).toBe("invalid_client");
    expect((await refresh(sim, "f".repeat(32))).body.error).toBe("invalid_grant");
    clock.ms += 100_000;
    expect((await refresh(sim, grant.refresh_token)).body.error).toBe("invalid_grant");

    const other = sim.installApp();
    sim.revokeApp();
    expect((await appCall(sim, other.access_token)).body.error).toBe("invalid_token");
    expect((await refresh(sim, other.refresh_token)).body.error).toBe("invalid_grant");
    expect(sim.tokenRequests.map((r) => r.refreshTokenState)).toEqual([
      "live",
      "unknown",
      "expired",
      "revoked",
    ]);
    expect(sim.ledger).toEqual([]);
  });

  it("takes the grant from a form-encoded POST too, and answers invalid_request for other grants", async () => {
    const { sim } = await start();
    const grant = sim.installApp();
    const form = new URLSearchParams({
      grant_type: "refresh_token",
      client_id: DEMO_APP.clientId,
      client_secret: DEMO_APP.clientSecret,
      refresh_token: grant.refresh_token,
    });
    expect((await json(await fetch(sim.tokenUrl, { method: "POST", body: form }))).status).toBe(200);
    const code = await json(await fetch(`${sim.tokenUrl}?grant_type=authorization_code&client_id=x`));
    expect(code).toMatchObject({ status: 400, body: { error: "invalid_request" } });
  });

  it("still answers NO_AUTH_FOUND without a token and invalid_token for one it never issued", async () => {
    const { sim } = await start();
    const bare = await json(await fetch(`${sim.url}/rest/${TRANSFER}`, { method: "POST" }));
    expect(bare).toMatchObject({ status: 401, body: { error: "NO_AUTH_FOUND" } });
    expect((await appCall(sim, "never-issued")).body.error).toBe("invalid_token");
  });
});
