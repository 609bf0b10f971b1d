import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from "@aws-sdk/client-secrets-manager";
import { describe, expect, it } from "vitest";
import type { TransferRequest } from "../lambda/domain/transfer-request.ts";
import type { TokenGrant } from "../scripts/simulator/index.ts";
import { captureLogs } from "./support/capture-logs.ts";
import { failure } from "./support/failure.ts";
import {
  deadRefreshTokenUsedSuccessfully,
  OAUTH_SECRET,
  oauthContainer,
  oauthSecretValue,
  storedSecret,
  useOAuthHarness,
} from "./support/oauth-portal.ts";

const world = useOAuthHarness();
const { model, stub, clock } = world;

const HOUR = 3600_000;
// Unguarded: these count the calls a token renewal costs; the guard's read would be one more per transfer.
const request = (chatId = 112): TransferRequest => ({
  chatId,
  target: { operatorId: 12 },
  leave: false,
  guard: false,
});
const deadline = () => Date.now() + 10_000;
const nowSeconds = () => Math.floor(Date.now() / 1000);
const errorsSeen = () => world.sim.hits.filter((hit) => hit.error).map((hit) => hit.error);

/** Installs the app and stores its first pair as the portal's secret; returns the pair. */
function install(oauth: Record<string, unknown> = {}): TokenGrant & { versionId: string } {
  const grant = world.sim.installApp();
  const versionId = model.seed(OAUTH_SECRET, oauthSecretValue(world.sim, grant, oauth));
  return { ...grant, versionId };
}

describe("OAuth application portals", () => {
  it("calls /rest/<method> with the access token and leaves a valid token alone", async () => {
    install();
    const outcome = await oauthContainer(world.sim).transfer(request(), deadline());
    expect(outcome).toMatchObject({
      result: { transferred: true, chatId: 112, portal: "main" },
      attempts: 1,
    });
    expect(world.sim.ledger).toMatchObject([{ chatId: 112, to: { userId: 12 }, botId: 9 }]);
    expect(world.sim.tokenRequests).toEqual([]);
    expect(stub.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it("renews a token that expires within the margin before calling, and stores the pair with compare-and-swap", async () => {
    const first = install({ expiresAt: nowSeconds() + 60 });
    await oauthContainer(world.sim).transfer(request(), deadline());

    expect(errorsSeen()).toEqual([]);
    expect(world.sim.tokenRequests.map((r) => [r.refreshToken, r.status])).toEqual([
      [first.refresh_token, 200],
    ]);
    const current = model.current(OAUTH_SECRET).versionId;
    expect(model.promotions(OAUTH_SECRET)).toEqual([current]);
    const stored = storedSecret(model);
    expect(stored.oauth.refreshToken).toBe(world.sim.liveRefreshTokens()[0]);
    expect(stored.oauth.accessToken).not.toBe(first.access_token);
    expect(stored.oauth.expiresAt).toBeGreaterThan(nowSeconds() + 3500);
    expect(stored).toMatchObject({
      botId: 7,
      note: "kept on every rewrite",
      oauth: { clientId: expect.any(String) },
    });

    // Written beside AWSCURRENT, then AWSCURRENT moved from exactly the version that was read.
    const put = stub.commandCalls(PutSecretValueCommand)[0]?.args[0].input;
    expect(put?.VersionStages).not.toContain("AWSCURRENT");
    expect(put?.ClientRequestToken).toBe(current);
    expect(stub.commandCalls(UpdateSecretVersionStageCommand)[0]?.args[0].input).toEqual({
      SecretId: OAUTH_SECRET,
      VersionStage: "AWSCURRENT",
      MoveToVersionId: current,
      RemoveFromVersionId: first.versionId,
    });

    // Another container starts from the stored pair and needs no refresh.
    await oauthContainer(world.sim).transfer(request(113), deadline());
    expect(world.sim.tokenRequests).toHaveLength(1);
  });

  it("after 401 expired_token renews the pair and calls once more", async () => {
    install();
    clock.aheadMs = HOUR + 1000;
    const outcome = await oauthContainer(world.sim).transfer(request(), deadline());
    expect(outcome.attempts).toBe(2);
    expect(world.sim.hits.map((hit) => [hit.status, hit.error])).toEqual([
      [401, "expired_token"],
      [200, undefined],
    ]);
    expect(world.sim.tokenRequests).toHaveLength(1);
    expect(world.sim.ledger).toHaveLength(1);
  });

  it("after a 401 uses the pair another container already stored instead of refreshing its dead token", async () => {
    install();
    const a = oauthContainer(world.sim);
    const b = oauthContainer(world.sim);
    await a.transfer(request(112), deadline());
    clock.aheadMs = HOUR + 1000;
    await b.transfer(request(113), deadline());
    expect(world.sim.tokenRequests).toHaveLength(1);

    world.sim.reset();
    const outcome = await a.transfer(request(114), deadline());
    expect(outcome.attempts).toBe(2);
    // Its access token was killed by b's refresh; its refresh token is dead too, and was never tried.
    expect(errorsSeen()).toEqual(["invalid_token"]);
    expect(world.sim.tokenRequests).toEqual([]);
  });

  it("shares one renewal between concurrent invocations of one container", async () => {
    install();
    clock.aheadMs = HOUR + 1000;
    const container = oauthContainer(world.sim);
    const outcomes = await Promise.all(
      [112, 113, 114, 115, 116, 117, 118, 119, 120, 112].map((chatId) =>
        container.transfer(request(chatId), deadline()),
      ),
    );
    expect(outcomes.every((outcome) => outcome.result.transferred)).toBe(true);
    expect(world.sim.tokenRequests).toHaveLength(1);
    expect(model.promotions(OAUTH_SECRET)).toHaveLength(1);
  });

  it("renews after a 401 on a batch and sends the batch once more", async () => {
    install();
    clock.aheadMs = HOUR + 1000;
    const outcome = await oauthContainer(world.sim).transferBatch(
      [request(112), request(113), request(114)],
      deadline(),
    );
    expect(outcome.items.every((item) => item.ok)).toBe(true);
    expect(world.sim.hits.map((hit) => [hit.method, hit.status])).toEqual([
      ["batch", 401],
      ["batch", 200],
    ]);
    expect(world.sim.ledger.map((record) => record.chatId)).toEqual([112, 113, 114]);
  });

  it("takes the portal's REST base from the token answer's client_endpoint and stores it", async () => {
    // The domain points nowhere; the first call renews (expiresAt 0) and learns the real endpoint.
    install({ domain: "127.0.0.1:9", expiresAt: 0 });
    await oauthContainer(world.sim).transfer(request(), deadline());
    expect(world.sim.ledger).toHaveLength(1);
    expect(storedSecret(model).oauth.clientEndpoint).toBe(`${world.sim.url}/rest/`);
    await oauthContainer(world.sim).transfer(request(113), deadline());
    expect(world.sim.ledger).toHaveLength(2);
  });

  it("keeps a renewed pair whose save failed, retries the save and never loses the refresh token", async () => {
    const first = install({ expiresAt: nowSeconds() + 60 });
    model.failNext("PutSecretValue", 3);
    const logs = captureLogs();
    // TTL 0: every call re-reads the secret, which still holds the old, now dead pair.
    const container = oauthContainer(world.sim, { SECRET_CACHE_TTL_SECONDS: "0" });
    try {
      await container.transfer(request(112), deadline());
      expect(model.current(OAUTH_SECRET).versionId).toBe(first.versionId);
      expect(world.sim.liveRefreshTokens()).not.toContain(first.refresh_token);
      expect(logs.text()).toContain("could NOT be saved");

      await container.transfer(request(113), deadline());
      expect(errorsSeen()).toEqual([]);
      expect(world.sim.tokenRequests).toHaveLength(1);

      // The retry waits out a short backoff, then the next invocation saves the pair.
      await new Promise((resolve) => setTimeout(resolve, 2100));
      await container.transfer(request(114), deadline());
    } finally {
      logs.stop();
    }
    expect(storedSecret(model).oauth.refreshToken).toBe(world.sim.liveRefreshTokens()[0]);
    expect(model.promotions(OAUTH_SECRET)).toHaveLength(1);
    await oauthContainer(world.sim).transfer(request(115), deadline());
    expect(world.sim.tokenRequests).toHaveLength(1);
    expect(world.sim.ledger).toHaveLength(4);
    expect(deadRefreshTokenUsedSuccessfully(world.sim)).toBe(false);
    // The loud log names the portal, never a token.
    for (const token of [first.refresh_token, first.access_token, ...world.sim.liveRefreshTokens()]) {
      expect(logs.text()).not.toContain(token);
    }
  });

  it("renews again from an unsaved pair and stores the newest one in place of the version read", async () => {
    const first = install();
    model.failNext("PutSecretValue", 3);
    clock.aheadMs = HOUR + 1000;
    const container = oauthContainer(world.sim);
    await container.transfer(request(112), deadline());
    expect(model.current(OAUTH_SECRET).versionId).toBe(first.versionId);

    clock.aheadMs = 2 * HOUR + 2000;
    await container.transfer(request(113), deadline());
    expect(world.sim.tokenRequests.map((r) => r.status)).toEqual([200, 200]);
    expect(storedSecret(model).oauth.refreshToken).toBe(world.sim.liveRefreshTokens()[0]);
    expect(stub.commandCalls(UpdateSecretVersionStageCommand).at(-1)?.args[0].input.RemoveFromVersionId).toBe(
      first.versionId,
    );
    expect(deadRefreshTokenUsedSuccessfully(world.sim)).toBe(false);
  });

  it("counts a swap whose answer was lost but which happened as stored, and writes nothing more", async () => {
    install({ expiresAt: nowSeconds() + 60 });
    model.loseAnswerOfNext("UpdateSecretVersionStage");
    const container = oauthContainer(world.sim);
    await container.transfer(request(112), deadline());
    expect(model.calls.DescribeSecret).toBe(1);
    expect(model.promotions(OAUTH_SECRET)).toHaveLength(1);
    expect(storedSecret(model).oauth.refreshToken).toBe(world.sim.liveRefreshTokens()[0]);
    await container.transfer(request(113), deadline());
    expect(stub.commandCalls(PutSecretValueCommand)).toHaveLength(1);
  });

  it("replaces its own earlier write that became current unseen, never a newer pair with an older one", async () => {
    install();
    // The first save's swap happens but its answer is lost, and the check that would show it fails.
    model.loseAnswerOfNext("UpdateSecretVersionStage");
    model.failNext("DescribeSecret", 3);
    clock.aheadMs = HOUR + 1000;
    const container = oauthContainer(world.sim);
    await container.transfer(request(112), deadline());
    const [firstSave] = model.promotions(OAUTH_SECRET);

    clock.aheadMs = 2 * HOUR + 2000;
    await container.transfer(request(113), deadline());
    const promotions = model.promotions(OAUTH_SECRET);
    expect(promotions).toHaveLength(2);
    expect(stub.commandCalls(UpdateSecretVersionStageCommand).at(-1)?.args[0].input.RemoveFromVersionId).toBe(
      firstSave,
    );
    expect(world.sim.liveRefreshTokens()).toEqual([storedSecret(model).oauth.refreshToken]);
  });

  it("when another writer stores a pair first, the swap fails and the writer's pair is used", async () => {
    install();
    clock.aheadMs = HOUR + 1000;
    let reinstalled: TokenGrant | undefined;
    // An admin reinstalls the app and stores its new pair after we read the secret, before we write.
    model.beforeNext("PutSecretValue", () => {
      reinstalled = world.sim.installApp();
      model.seed(OAUTH_SECRET, oauthSecretValue(world.sim, reinstalled, { expiresAt: nowSeconds() + 3600 }));
    });
    const container = oauthContainer(world.sim);
    await container.transfer(request(112), deadline());
    expect(storedSecret(model).oauth.accessToken).toBe(reinstalled?.access_token);

    // Kill the pair this container renewed: only the writer's pair can still work.
    const ours = world.sim
      .liveRefreshTokens()
      .find((token) => token !== reinstalled?.refresh_token) as string;
    const url = new URL(world.sim.tokenUrl);
    url.search = new URLSearchParams({
      grant_type: "refresh_token",
      client_id: "local.d3m0app0000000.00000000",
      client_secret: "d3m0AppCl13ntS3cr3tD3m0AppCl13ntS3cr3t00",
      refresh_token: ours,
    }).toString();
    expect((await fetch(url)).status).toBe(200);
    world.sim.reset();
    await container.transfer(request(113), deadline());
    expect(errorsSeen()).toEqual([]);
    expect(world.sim.tokenRequests).toEqual([]);
  });

  it("reports a dead refresh token as PORTAL_MISCONFIGURED (invalid_grant) without echoing it", async () => {
    const first = install();
    world.sim.revokeApp();
    const error = await failure(oauthContainer(world.sim).transfer(request(), deadline()));
    expect([error.code, error.details.bitrix24?.error]).toEqual(["PORTAL_MISCONFIGURED", "invalid_grant"]);
    expect(world.sim.tokenRequests.map((r) => r.refreshTokenState)).toEqual(["revoked"]);
    const seen = JSON.stringify({ message: error.message, details: error.details });
    for (const secret of [first.refresh_token, first.access_token, "d3m0AppCl13ntS3cr3t"]) {
      expect(seen).not.toContain(secret);
    }
    expect(world.sim.ledger).toEqual([]);
  });

  it("reports an app the OAuth server refuses (invalid_client) before any REST call", async () => {
    install({ clientSecret: "n0tTh3R1ghtS3cr3t", expiresAt: 0 });
    const error = await failure(oauthContainer(world.sim).transfer(request(), deadline()));
    expect([error.code, error.details.bitrix24?.error]).toEqual(["PORTAL_MISCONFIGURED", "invalid_client"]);
    expect(error.message).not.toContain("n0tTh3R1ghtS3cr3t");
    expect(world.sim.hits).toEqual([]);
  });

  it("refuses an OAuth secret on a portal not listed in OAUTH_PORTALS, before any call", async () => {
    install({ expiresAt: 0 });
    const error = await failure(
      oauthContainer(world.sim, { OAUTH_PORTALS: "" }).transfer(request(), deadline()),
    );
    expect(error.code).toBe("PORTAL_MISCONFIGURED");
    expect(error.details.detail).toContain("not configured as an OAuth portal");
    expect([world.sim.hits.length, world.sim.tokenRequests.length]).toEqual([0, 0]);
  });

  it("uses a still-valid token when renewing ahead of expiry fails, and fails upstream once it expired", async () => {
    install({ expiresAt: nowSeconds() + 60 });
    const unreachable = { B24_OAUTH_TOKEN_URL: "http://127.0.0.1:9/oauth/token/" };
    await oauthContainer(world.sim, unreachable).transfer(request(112), deadline());
    expect(world.sim.ledger).toHaveLength(1);

    clock.aheadMs = HOUR + 1000;
    const error = await failure(oauthContainer(world.sim, unreachable).transfer(request(113), deadline()));
    expect(error.code).toBe("UPSTREAM_ERROR");
    expect(error.details.detail).toContain("OAuth server");
    expect(error.message).not.toContain("client_secret");
  });
});
