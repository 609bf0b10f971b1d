import { describe, expect, it } from "vitest";
import { createHandler } from "../lambda/handlers/transfer-handler.ts";
import { lambdaContext } from "../scripts/local-api.ts";
import { DEMO_APP } from "../scripts/simulator/index.ts";
import { captureLogs } from "./support/capture-logs.ts";
import { httpApiEvent } from "./support/events.ts";
import { OAUTH_SECRET, oauthContainer, oauthSecretValue, useOAuthHarness } from "./support/oauth-portal.ts";

const world = useOAuthHarness();
const { model, clock } = world;

const HOUR = 3600_000;
const body = JSON.stringify({ chatId: 112, operatorId: 12 });
const soon = () => Math.floor(Date.now() / 1000) + 60;

/** Each path arranges the portal and returns the environment for its container. */
const paths: [string, () => Record<string, string>][] = [
  ["renewal ahead of expiry", () => seed({ expiresAt: soon() })],
  [
    "renewal after 401",
    () => {
      clock.aheadMs = HOUR + 1000;
      return seed();
    },
  ],
  [
    "renewed pair not saved",
    () => {
      model.failNext("PutSecretValue", 10);
      return seed({ expiresAt: soon() });
    },
  ],
  [
    "dead refresh token",
    () => {
      const env = seed();
      world.sim.revokeApp();
      return env;
    },
  ],
  ["app refused", () => seed({ clientSecret: `${DEMO_APP.clientSecret}x`, expiresAt: 0 })],
  [
    "token endpoint unreachable",
    () => seed({ expiresAt: 0 }, { B24_OAUTH_TOKEN_URL: "http://127.0.0.1:9/t/" }),
  ],
  ["portal not configured for OAuth", () => seed({}, { OAUTH_PORTALS: "" })],
  ["malformed OAuth secret", () => seed({ domain: `127.0.0.1/${DEMO_APP.clientSecret}`, refreshToken: 42 })],
];

function seed(oauth: Record<string, unknown> = {}, env: Record<string, string> = {}): Record<string, string> {
  model.seed(OAUTH_SECRET, oauthSecretValue(world.sim, world.sim.installApp(), oauth));
  return env;
}

/** Every token the portal ever issued in this test, every refresh token presented, and the app secret. */
function secrets(): string[] {
  const stored = JSON.parse(model.current(OAUTH_SECRET).value).oauth;
  return [
    DEMO_APP.clientSecret,
    String(stored.accessToken),
    String(stored.refreshToken),
    ...world.sim.liveRefreshTokens(),
    ...world.sim.tokenRequests.map((request) => request.refreshToken),
  ].filter((secret) => secret.length >= 16);
}

describe("OAuth secrets never leak", () => {
  it.each(paths)(
    "keeps tokens and the client secret out of logs and responses: %s",
    async (_name, arrange) => {
      const env = arrange();
      const handler = createHandler({
        dependencies: () => ({
          service: oauthContainer(world.sim, env),
          failureQueueUrl: undefined,
          sendFailures: async () => {},
        }),
      });
      const logs = captureLogs();
      let response: unknown;
      try {
        response = await handler(httpApiEvent({ body }), lambdaContext(10_000));
      } finally {
        logs.stop();
      }
      const seen = JSON.stringify(response) + logs.text();
      expect(logs.lines.length).toBeGreaterThan(0);
      const known = secrets();
      expect(known.length).toBeGreaterThanOrEqual(3);
      for (const secret of known) expect(seen).not.toContain(secret);
    },
  );
});
