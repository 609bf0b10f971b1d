import { GetSecretValueCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../lambda/config.ts";
import type { TransferRequest } from "../lambda/domain/transfer-request.ts";
import { createTransferService } from "../lambda/service/transfer-service.ts";
import { type AuthRefusal, DEMO_BOT } from "../scripts/simulator/index.ts";
import { failure } from "./support/failure.ts";
import { OAUTH_SECRET, oauthContainer, oauthSecretValue, useOAuthHarness } from "./support/oauth-portal.ts";

/**
 * Issue 24, item 2: every way a portal refuses credentials that are themselves valid
 * (`onRestCheckAuth` of rest/lib/oauth/auth.php and rest/lib/apauth/auth.php), and every refusal of the
 * token server. Each becomes a precise problem: retried when nothing ran and it may pass, an admin's
 * fix naming the real cause when it is configuration; never a re-read of a secret that is fine, and
 * never a transfer (the ledger stays empty).
 */
const world = useOAuthHarness();
const { model, stub } = world;
const WEBHOOK_SECRET = "b24-transfer/webhook-main";
// Without the guard's read: these refusals are about the credentials, and each test counts the transfer's own calls.
const request = (chatId = 112): TransferRequest => ({
  chatId,
  target: { operatorId: 12 },
  leave: false,
  guard: false,
});
const deadline = () => Date.now() + 10_000;
const secretReads = () => stub.commandCalls(GetSecretValueCommand).length;

function appPortal() {
  const grant = world.sim.installApp();
  model.seed(OAUTH_SECRET, oauthSecretValue(world.sim, grant));
  return oauthContainer(world.sim);
}

function webhookPortal() {
  model.seed(
    WEBHOOK_SECRET,
    JSON.stringify({ webhookUrl: world.sim.webhookUrl(), clientId: DEMO_BOT.clientId }),
  );
  return createTransferService(
    loadConfig({
      PORTALS: JSON.stringify({ main: WEBHOOK_SECRET }),
      DEFAULT_PORTAL: "main",
      ALLOW_HTTP_LOOPBACK: "true",
    }),
  );
}

const PORTALS = { "an application": appPortal, "a webhook": webhookPortal } as const;

/** [refusal, Bitrix24's code, problem, advice, callers it applies to] */
const REFUSALS: [AuthRefusal, string, string, RegExp, (keyof typeof PORTALS)[]][] = [
  [
    "app-inactive",
    "APPLICATION_NOT_FOUND",
    "PORTAL_MISCONFIGURED",
    /the application was uninstalled or deactivated on the portal/,
    ["an application"],
  ],
  [
    "user-no-app-access",
    "user_access_error",
    "PORTAL_MISCONFIGURED",
    /has no access to the application/,
    ["an application"],
  ],
  [
    "user-cannot-authorize",
    "authorization_error",
    "PORTAL_MISCONFIGURED",
    /cannot be authorized on the portal/,
    ["an application", "a webhook"],
  ],
  [
    "no-subscription",
    "ACCESS_DENIED",
    "PORTAL_MISCONFIGURED",
    /REST is available only with a subscription or on a commercial plan/,
    ["an application", "a webhook"],
  ],
  [
    "overload-hold",
    "OVERLOAD_LIMIT",
    "RATE_LIMITED",
    /blocked for these credentials because of overload; nothing ran/,
    ["an application", "a webhook"],
  ],
  [
    "auth-server-unreachable",
    "CONNECTION_ERROR",
    "UPSTREAM_ERROR",
    /could not reach its authorization server/,
    ["an application"],
  ],
];

/** Only a refusal that ran nothing and can pass in a moment is sent again. */
const RETRIED = new Set(["CONNECTION_ERROR"]);

describe.each(REFUSALS)("the portal's check %s (%s)", (refusal, code, problem, advice, callers) => {
  it.each(callers)("for %s: a precise problem, no secret re-read, nothing transferred", async (caller) => {
    const service = PORTALS[caller]();
    world.sim.refuseAuth(refusal);
    const readsBefore = secretReads();

    const error = await failure(service.transfer(request(), deadline()));

    expect([error.code, error.details.bitrix24?.error]).toEqual([problem, code]);
    expect(error.details.detail).toMatch(advice);
    // Answered as the module does (OAuthException: 401), for every attempt.
    const hits = world.sim.hits.map((hit) => [hit.status, hit.error]);
    expect(hits).toEqual(Array.from({ length: RETRIED.has(code) ? 4 : 1 }, () => [401, code]));
    expect(world.sim.ledger).toEqual([]);
    // One read of the secret, when the container first needs it: the refusal sends nobody to re-read it.
    expect(secretReads() - readsBefore).toBe(1);
    expect(world.sim.tokenRequests).toEqual([]);
  });
});

it("does not refuse a webhook for a check that only applications go through", async () => {
  const service = webhookPortal();
  for (const refusal of ["app-inactive", "user-no-app-access", "auth-server-unreachable"] as const) {
    world.sim.refuseAuth(refusal);
    await expect(service.transfer(request(112), deadline())).resolves.toMatchObject({
      result: { transferred: true },
    });
    world.sim.reset();
  }
});

describe("the statuses the docs give instead of the module's 401 decide nothing: the code does", () => {
  it.each([
    ["ACCESS_DENIED", 403, "PORTAL_MISCONFIGURED"],
    ["OVERLOAD_LIMIT", 503, "RATE_LIMITED"],
    ["APPLICATION_NOT_FOUND", 403, "PORTAL_MISCONFIGURED"],
    ["authorization_error", 403, "PORTAL_MISCONFIGURED"],
    ["user_access_error", 403, "PORTAL_MISCONFIGURED"],
  ])("%s with HTTP %i is %s, sent once", async (code, status, problem) => {
    const service = webhookPortal();
    world.sim.injectFault({ kind: "error", status, error: code }, { times: Infinity });
    const error = await failure(service.transfer(request(), deadline()));
    expect(error.code).toBe(problem);
    expect(world.sim.hits).toHaveLength(1);
    expect(world.sim.ledger).toEqual([]);
  });

  it("a transient CONNECTION_ERROR is sent again and the transfer then runs once", async () => {
    const service = webhookPortal();
    world.sim.injectFault({ kind: "error", status: 401, error: "CONNECTION_ERROR" });
    await expect(service.transfer(request(), deadline())).resolves.toMatchObject({ attempts: 2 });
    expect(world.sim.ledger.map((record) => record.chatId)).toEqual([112]);
  });
});

describe("the token server's refusals of the application", () => {
  it.each([
    [
      "its trial or paid period ended",
      "PAYMENT_REQUIRED",
      /trial or paid period has expired; renew its subscription/,
    ],
    [
      "its card lost a scope its tokens carry",
      "invalid_scope",
      /more than the scopes in the application's card/,
    ],
    ["a wrong client secret", "invalid_client", /client id or secret in the portal's secret is wrong/],
  ])("%s: %s, named, with no REST call and the secret left alone", async (_name, code, advice) => {
    const grant = world.sim.installApp();
    const clientSecret = code === "invalid_client" ? "wrong-secret" : undefined;
    model.seed(
      OAUTH_SECRET,
      oauthSecretValue(world.sim, grant, {
        // Expired: the container must renew before it can call.
        expiresAt: Math.floor(Date.now() / 1000) - 10,
        ...(clientSecret ? { clientSecret } : {}),
      }),
    );
    if (code === "PAYMENT_REQUIRED") world.sim.expireAppPayment();
    if (code === "invalid_scope") world.sim.setAppCardScopes(["imopenlines", "imbot"]);
    const error = await failure(oauthContainer(world.sim).transfer(request(), deadline()));
    expect([error.code, error.details.bitrix24?.error]).toEqual(["PORTAL_MISCONFIGURED", code]);
    expect(error.details.detail).toMatch(advice);
    const status = code === "invalid_client" ? 401 : 400;
    expect(world.sim.tokenRequests.map((r) => [r.status, r.error])).toEqual([[status, code]]);
    expect(world.sim.hits).toEqual([]);
    expect(stub.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });
});
