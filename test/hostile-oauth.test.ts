import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callMethod } from "../lambda/bitrix24/client.ts";
import { TransferError } from "../lambda/domain/problems.ts";
import { refreshTokens } from "../lambda/portals/oauth/token-endpoint.ts";
import { type HostileUpstream, startHostileUpstream } from "./support/hostile-upstream.ts";

/**
 * Issue 14, finding 1 on the OAuth paths: the token endpoint is sent the client secret and the refresh
 * token, a REST call the access token. An answer that quotes them back must not carry them into the
 * error that becomes a problem, a log line or a queue message.
 */
const ACCESS_TOKEN = "acc3ssT0kenOfTheApplication0123456789";
const REFRESH_TOKEN = "r3freshT0kenOfTheApplication0123456789";
const CLIENT_SECRET = "cl1entS3cretOfTheApp0123456789";
const SECRETS = [ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET];

let upstream: HostileUpstream;
beforeAll(async () => {
  upstream = await startHostileUpstream();
});
afterAll(() => upstream.close());

const deadline = () => ({ deadline: Date.now() + 5000, attemptTimeoutMs: 2000 });

function seen(error: unknown): string {
  expect(error).toBeInstanceOf(TransferError);
  const e = error as TransferError;
  return JSON.stringify({ message: e.message, stack: e.stack, details: e.details });
}

const grant = { clientId: "app.0123", clientSecret: CLIENT_SECRET, refreshToken: REFRESH_TOKEN };

describe("the OAuth token endpoint quoting our secrets", () => {
  it.each([
    ["the refresh token", REFRESH_TOKEN],
    ["the client secret", CLIENT_SECRET],
  ])("does not pass on an error code that is %s", async (_name, secret) => {
    upstream.answer(() => ({
      status: 400,
      body: JSON.stringify({ error: secret, error_description: `bad ${SECRETS.join(" ")}`.repeat(5000) }),
    }));
    const outcome = await refreshTokens(`${upstream.url}/oauth/token/`, grant, deadline());
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    const text = seen(outcome.error);
    for (const value of SECRETS) expect(text).not.toContain(value);
    expect(outcome.error.details.bitrix24?.error).toBe("UNREADABLE_ERROR");
    expect(text.length).toBeLessThan(8 * 1024);
  });

  it("still passes on an honest code", async () => {
    upstream.answer(() => ({ status: 400, body: JSON.stringify({ error: "invalid_client" }) }));
    const outcome = await refreshTokens(`${upstream.url}/oauth/token/`, grant, deadline());
    expect(!outcome.ok && outcome.error.details.bitrix24?.error).toBe("invalid_client");
  });
});

describe("a REST call with an access token quoting it", () => {
  it("keeps the access token out of the error code and the description", async () => {
    upstream.answer(() => ({
      status: 401,
      body: JSON.stringify({
        error: ACCESS_TOKEN,
        error_description: `The access token provided (auth=${ACCESS_TOKEN}) is invalid `.repeat(10_000),
      }),
    }));
    const error = await callMethod(
      `${upstream.url}/rest/`,
      "imopenlines.bot.session.transfer",
      { CHAT_ID: 112, auth: ACCESS_TOKEN },
      { ...deadline(), retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } },
    ).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    const text = seen(error);
    expect(text).not.toContain(ACCESS_TOKEN);
    expect((error as TransferError).details.bitrix24?.description?.length).toBeLessThanOrEqual(300);
    expect(text.length).toBeLessThan(8 * 1024);
  });
});
