import { describe, expect, it } from "vitest";
import type { TransferRequest } from "../lambda/domain/transfer-request.ts";
import type { TransferService } from "../lambda/service/transfer-service.ts";
import {
  deadRefreshTokenUsedSuccessfully,
  OAUTH_SECRET,
  oauthContainer,
  oauthSecretValue,
  storedSecret,
  useOAuthHarness,
} from "./support/oauth-portal.ts";

/**
 * The lockout the design must make impossible: many containers hit an expired token at once, one
 * Secrets Manager secret, and a token endpoint where every refresh kills the refresh token used.
 */
const CONTAINERS = 20;
const INVOCATIONS_PER_CONTAINER = 3;
const HOUR = 3600_000;

const world = useOAuthHarness();
const { model, clock } = world;

// Unguarded: these count the calls and renewals of concurrent containers; the guard's read would add one each.
const request = (chatId: number): TransferRequest => ({
  chatId,
  target: { operatorId: 12 },
  leave: false,
  guard: false,
});
const deadline = () => Date.now() + 15_000;
const chats = [112, 113, 114, 115, 116, 117, 118, 119, 120];

/** Every container runs a few invocations at once; all of them must transfer. */
async function burst(containers: TransferService[]) {
  const runs = containers.flatMap((container, c) =>
    Array.from({ length: INVOCATIONS_PER_CONTAINER }, (_, i) =>
      container.transfer(request(chats[(c + i) % chats.length] as number), deadline()),
    ),
  );
  return Promise.allSettled(runs);
}

function expectOneSafeRotation(firstVersion: string) {
  // Exactly one refresh succeeded and exactly one new pair became current, from the version all read.
  expect(world.sim.tokenRequests.filter((r) => r.status === 200)).toHaveLength(1);
  expect(deadRefreshTokenUsedSuccessfully(world.sim)).toBe(false);
  // In-container sharing: at most one token request per container, not one per invocation.
  expect(world.sim.tokenRequests.length).toBeLessThanOrEqual(CONTAINERS);
  const promotions = model.promotions(OAUTH_SECRET);
  expect(promotions).toHaveLength(1);
  expect(model.stagesOf(OAUTH_SECRET, firstVersion)).toEqual(["AWSPREVIOUS"]);
  // What is stored is the one refresh token the portal still accepts.
  expect(world.sim.liveRefreshTokens()).toEqual([storedSecret(model).oauth.refreshToken]);
}

async function expectAllContainersWork(containers: TransferService[]) {
  world.sim.reset();
  const again = await Promise.allSettled(
    containers.map((container, c) => container.transfer(request(chats[c % 9] as number), deadline())),
  );
  expect(again.filter((outcome) => outcome.status === "rejected")).toEqual([]);
  expect(world.sim.tokenRequests).toEqual([]);
  expect(world.sim.hits.filter((hit) => hit.status !== 200)).toEqual([]);
}

describe(`${CONTAINERS} containers sharing one OAuth portal`, () => {
  it("all hit 401 expired_token at once: one refresh is stored, every container ends with working tokens", async () => {
    const grant = world.sim.installApp();
    const firstVersion = model.seed(OAUTH_SECRET, oauthSecretValue(world.sim, grant));
    const containers = Array.from({ length: CONTAINERS }, () => oauthContainer(world.sim));
    // Warm every container's cache with the current pair, then let it expire on the portal's clock.
    await Promise.all(
      containers.map((container, c) => container.transfer(request(chats[c % 9] as number), deadline())),
    );
    world.sim.reset();
    clock.aheadMs = HOUR + 1000;

    const outcomes = await burst(containers);

    expect(outcomes.filter((outcome) => outcome.status === "rejected")).toEqual([]);
    expect(world.sim.ledger).toHaveLength(CONTAINERS * INVOCATIONS_PER_CONTAINER);
    expect(world.sim.hits.some((hit) => hit.error === "expired_token")).toBe(true);
    expectOneSafeRotation(firstVersion);
    await expectAllContainersWork(containers);
  });

  it("all see the stored expiry pass at once and renew ahead: still one refresh, no 401 at all", async () => {
    const grant = world.sim.installApp();
    const firstVersion = model.seed(
      OAUTH_SECRET,
      oauthSecretValue(world.sim, grant, { expiresAt: Math.floor(Date.now() / 1000) + 30 }),
    );
    const containers = Array.from({ length: CONTAINERS }, () => oauthContainer(world.sim));

    const outcomes = await burst(containers);

    expect(outcomes.filter((outcome) => outcome.status === "rejected")).toEqual([]);
    expect(world.sim.ledger).toHaveLength(CONTAINERS * INVOCATIONS_PER_CONTAINER);
    expect(world.sim.hits.filter((hit) => hit.status !== 200)).toEqual([]);
    expectOneSafeRotation(firstVersion);
    await expectAllContainersWork(containers);
  });

  it("the winner's save fails at first: no container loses the pair, and it is stored once the save works", async () => {
    const grant = world.sim.installApp();
    model.seed(OAUTH_SECRET, oauthSecretValue(world.sim, grant));
    const containers = Array.from({ length: CONTAINERS }, () => oauthContainer(world.sim));
    await Promise.all(
      containers.map((container, c) => container.transfer(request(chats[c % 9] as number), deadline())),
    );
    clock.aheadMs = HOUR + 1000;
    model.failNext("UpdateSecretVersionStage", 3);

    const outcomes = await burst(containers);

    // The losers could not learn the unsaved pair: they fail this time, loudly, and nothing is lost.
    const fulfilled = outcomes.filter((outcome) => outcome.status === "fulfilled");
    expect(fulfilled.length).toBeGreaterThanOrEqual(INVOCATIONS_PER_CONTAINER);
    expect(world.sim.tokenRequests.filter((r) => r.status === 200)).toHaveLength(1);
    expect(deadRefreshTokenUsedSuccessfully(world.sim)).toBe(false);
    expect(model.promotions(OAUTH_SECRET)).toEqual([]);

    // After the winner's backoff its next invocation saves the pair; then every container recovers.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await Promise.allSettled(containers.map((container) => container.transfer(request(112), deadline())));
    expect(model.promotions(OAUTH_SECRET)).toHaveLength(1);
    expect(world.sim.liveRefreshTokens()).toEqual([storedSecret(model).oauth.refreshToken]);
    await expectAllContainersWork(containers);
    expect(deadRefreshTokenUsedSuccessfully(world.sim)).toBe(false);
  });
});
