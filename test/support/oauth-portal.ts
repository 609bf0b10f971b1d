import { afterAll, beforeAll, beforeEach } from "vitest";
import { loadConfig } from "../../lambda/config.ts";
import { createTransferService, type TransferService } from "../../lambda/service/transfer-service.ts";
import { DEMO_APP, type Simulator, startSimulator, type TokenGrant } from "../../scripts/simulator/index.ts";
import { SecretsManagerModel } from "./secrets-manager-model.ts";

/** An OAuth application portal wired to the simulator: its secret, containers and checks. */

export const OAUTH_SECRET = "b24-transfer/oauth-main";

/** The simulator's clock runs ahead of ours by `aheadMs`: tokens expire there while they look valid here. */
export function skewedClock() {
  const clock = { aheadMs: 0, now: () => Date.now() + clock.aheadMs };
  return clock;
}

/** The secret as docs/oauth.md tells an admin to write it, from the app's first token pair. */
export function oauthSecretValue(
  sim: Simulator,
  grant: TokenGrant,
  oauth: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    oauth: {
      domain: `127.0.0.1:${sim.port}`,
      clientId: DEMO_APP.clientId,
      clientSecret: DEMO_APP.clientSecret,
      accessToken: grant.access_token,
      refreshToken: grant.refresh_token,
      expiresAt: grant.expires,
      ...oauth,
    },
    botId: 7,
    note: "kept on every rewrite",
    ...extra,
  });
}

/** One Lambda container: a service with its own caches and token session. */
export function oauthContainer(sim: Simulator, env: Record<string, string> = {}): TransferService {
  return createTransferService(
    loadConfig({
      PORTALS: JSON.stringify({ main: OAUTH_SECRET }),
      DEFAULT_PORTAL: "main",
      OAUTH_PORTALS: JSON.stringify(["main"]),
      ALLOW_HTTP_LOOPBACK: "true",
      B24_OAUTH_TOKEN_URL: sim.tokenUrl,
      ...env,
    }),
  );
}

export interface StoredOAuth {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
  clientEndpoint?: string;
  [key: string]: unknown;
}

export function storedSecret(model: SecretsManagerModel): { oauth: StoredOAuth; [key: string]: unknown } {
  return JSON.parse(model.current(OAUTH_SECRET).value);
}

/** What the issue demands of the token endpoint's log: no dead refresh token ever got a new pair. */
export function deadRefreshTokenUsedSuccessfully(sim: Simulator): boolean {
  return sim.tokenRequests.some((request) => request.status === 200 && request.refreshTokenState !== "live");
}

export interface OAuthHarness {
  model: SecretsManagerModel;
  stub: ReturnType<SecretsManagerModel["attach"]>;
  clock: ReturnType<typeof skewedClock>;
  sim: Simulator;
}

/**
 * The OAuth test world: the simulator on a clock tests can move, and a stateful Secrets Manager model
 * behind the real SDK client; fresh for every test.
 */
export function useOAuthHarness(): OAuthHarness {
  const model = new SecretsManagerModel();
  const harness = { model, stub: model.attach(), clock: skewedClock() } as OAuthHarness;
  beforeAll(async () => {
    harness.sim = await startSimulator({ rateLimit: false, now: harness.clock.now });
  });
  afterAll(async () => {
    harness.stub.restore();
    await harness.sim.close();
  });
  beforeEach(() => {
    // Tokens outlive reset(): revoking them leaves only this test's pairs live.
    harness.sim.revokeApp();
    harness.sim.reset();
    model.reset();
    harness.stub.resetHistory();
    harness.clock.aheadMs = 0;
  });
  return harness;
}
