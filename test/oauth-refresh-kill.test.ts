import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TransferRequest } from "../lambda/domain/transfer-request.ts";
import { type Simulator, startSimulator } from "../scripts/simulator/index.ts";
import {
  deadRefreshTokenUsedSuccessfully,
  OAUTH_SECRET,
  oauthContainer,
  oauthSecretValue,
  useOAuthHarness,
} from "./support/oauth-portal.ts";

/**
 * Issue 24, item 4: whether a refresh also kills the access token issued with the refresh token used,
 * neither the module nor the docs say. The product must be right either way: the simulator runs both.
 */
const HOUR = 3600_000;
// Without the guard's read, so that `attempts` counts the calls one access token made for the transfer.
const request = (chatId: number): TransferRequest => ({
  chatId,
  target: { operatorId: 12 },
  leave: false,
  guard: false,
});
const deadline = () => Date.now() + 10_000;

const world = useOAuthHarness();
/** A second portal on the same clock whose refreshes leave the old access token alive. */
let keeping: Simulator;
beforeAll(async () => {
  keeping = await startSimulator({ rateLimit: false, now: world.clock.now, refreshKillsAccessToken: false });
});
afterAll(() => keeping.close());
beforeEach(() => {
  keeping.revokeApp();
  keeping.reset();
});

describe.each([
  [true, () => world.sim],
  [false, () => keeping],
])("when a refresh kills the old access token: %s", (kills, portal) => {
  const errorsSeen = () =>
    portal()
      .hits.filter((hit) => hit.error)
      .map((hit) => hit.error);

  it("two containers: one renews, the other keeps working; one refresh, each transfer once", async () => {
    const grant = portal().installApp();
    world.model.seed(OAUTH_SECRET, oauthSecretValue(portal(), grant));
    const a = oauthContainer(portal());
    const b = oauthContainer(portal());
    await b.transfer(request(112), deadline());

    // The portal's clock passes the hour: a meets expired_token and renews.
    world.clock.aheadMs = HOUR + 1000;
    await a.transfer(request(113), deadline());
    expect(portal().tokenRequests).toHaveLength(1);

    // Back within the old token's hour: b still holds it.
    world.clock.aheadMs = 0;
    portal().reset();
    const outcome = await b.transfer(request(114), deadline());
    expect(outcome.result.transferred).toBe(true);
    // Killed: b is told so and takes a's stored pair. Alive: b's call simply works.
    expect(errorsSeen()).toEqual(kills ? ["invalid_token"] : []);
    expect(outcome.attempts).toBe(kills ? 2 : 1);
    expect(portal().ledger.map((record) => record.chatId)).toEqual([114]);
    expect(portal().tokenRequests).toEqual([]);
  });

  it("a container whose old token finally expires takes the stored pair instead of refreshing", async () => {
    const grant = portal().installApp();
    world.model.seed(OAUTH_SECRET, oauthSecretValue(portal(), grant));
    const a = oauthContainer(portal());
    const b = oauthContainer(portal());
    await b.transfer(request(112), deadline());
    world.clock.aheadMs = HOUR + 1000;
    await a.transfer(request(113), deadline());
    portal().reset();

    // b's token has expired (or was killed) by now; its refresh token was used by a.
    const outcome = await b.transfer(request(114), deadline());
    expect(outcome.result.transferred).toBe(true);
    expect(errorsSeen()).toEqual([kills ? "invalid_token" : "expired_token"]);
    expect(portal().tokenRequests).toEqual([]);
    expect(deadRefreshTokenUsedSuccessfully(portal())).toBe(false);
    expect(portal().ledger.map((record) => record.chatId)).toEqual([114]);
  });
});
