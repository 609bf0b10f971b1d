import { execFile } from "node:child_process";
import { timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { APIGatewayRequestAuthorizerEventV2 } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  type MockInstance,
  vi,
} from "vitest";
import { PROJECT_ROOT } from "../infra/bundling.ts";
import { hashToken } from "../lambda/auth/token-hash.ts";
import { type AuthorizerSettings, createAuthorizer, handler, settingsFromEnv } from "../lambda/authorizer.ts";
import { FAILURE_TTL_MS } from "../lambda/aws/secret-cache.ts";
import { logger } from "../lambda/observability/logger.ts";
import { mintClientToken } from "../scripts/client-token.ts";

// Counts constant-time comparisons without changing them.
vi.mock("node:crypto", async (importOriginal) => {
  const crypto = await importOriginal<typeof import("node:crypto")>();
  return { ...crypto, timingSafeEqual: vi.fn(crypto.timingSafeEqual) };
});

const SECRET_ID = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:ClientTokens-AbCdEf";
const CRM_TOKEN = "b24t_crm-token-0123456789abcdefghijklmnopqrstuvw";
const HELPDESK_TOKEN = "b24t_helpdesk-token-0123456789abcdefghijklmnopq";

const secretsManager = mockClient(SecretsManagerClient);

function storeTokens(hashes: Record<string, unknown>): void {
  secretsManager.on(GetSecretValueCommand, { SecretId: SECRET_ID }).resolves({
    SecretString: JSON.stringify(hashes),
    VersionId: "v1",
  });
}

const secretReads = () => secretsManager.commandCalls(GetSecretValueCommand).length;

/** The real API Gateway sample; tests change only its headers. */
function authorizerEvent(headers: { authorization?: string } = {}): APIGatewayRequestAuthorizerEventV2 {
  const event = JSON.parse(
    readFileSync(
      new URL(
        "fixtures/events/apigw-http-v2__lambda-authorizer-REQUEST-input__powertools.json",
        import.meta.url,
      ),
      "utf8",
    ),
  ) as APIGatewayRequestAuthorizerEventV2;
  const { authorization: _, ...otherHeaders } = event.headers ?? {};
  event.headers = { ...otherHeaders, ...headers };
  return event;
}

const bearer = (token: string) => authorizerEvent({ authorization: `Bearer ${token}` });

const SETTINGS: AuthorizerSettings = {
  secretId: SECRET_ID,
  enabledClients: ["example-crm", "helpdesk"],
  secretCacheTtlMs: 300_000,
};

let output: string[];
let stdout: MockInstance;
let stderr: MockInstance;

beforeAll(() => {
  // The suite silences logs; these tests read them, at every level, so a leak anywhere would show.
  logger.setLogLevel("DEBUG");
});

afterAll(() => {
  logger.setLogLevel(
    (process.env.POWERTOOLS_LOG_LEVEL ?? "INFO") as Parameters<typeof logger.setLogLevel>[0],
  );
});

beforeEach(() => {
  secretsManager.reset();
  storeTokens({ "example-crm": hashToken(CRM_TOKEN), helpdesk: hashToken(HELPDESK_TOKEN) });
  output = [];
  const capture = (chunk: unknown) => {
    output.push(String(chunk));
    return true;
  };
  stdout = vi.spyOn(process.stdout, "write").mockImplementation(capture);
  stderr = vi.spyOn(process.stderr, "write").mockImplementation(capture);
  vi.mocked(timingSafeEqual).mockClear();
});

afterEach(() => {
  stdout.mockRestore();
  stderr.mockRestore();
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

const logLines = () =>
  output
    .join("")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe("authorizer", () => {
  it("authorizes a valid token and passes the client name on", async () => {
    const authorize = createAuthorizer(SETTINGS);
    await expect(authorize(bearer(CRM_TOKEN))).resolves.toEqual({
      isAuthorized: true,
      context: { client: "example-crm" },
    });
    await expect(authorize(bearer(HELPDESK_TOKEN))).resolves.toEqual({
      isAuthorized: true,
      context: { client: "helpdesk" },
    });
    expect(logLines()).toContainEqual(
      expect.objectContaining({ level: "INFO", message: "request authorized", client: "example-crm" }),
    );
  });

  it("accepts the scheme in any letter case, as RFC 9110 requires", async () => {
    const authorize = createAuthorizer(SETTINGS);
    await expect(authorize(authorizerEvent({ authorization: `bearer ${CRM_TOKEN}` }))).resolves.toMatchObject(
      {
        isAuthorized: true,
      },
    );
  });

  it("rejects a request without Authorization header without reading the secret", async () => {
    const authorize = createAuthorizer(SETTINGS);
    await expect(authorize(authorizerEvent())).resolves.toEqual({ isAuthorized: false });
    await expect(authorize(authorizerEvent({ authorization: "  " }))).resolves.toEqual({
      isAuthorized: false,
    });
    expect(secretReads()).toBe(0);
    expect(logLines()).toContainEqual(expect.objectContaining({ reason: "missing bearer token" }));
  });

  it.each([
    ["another scheme", `Basic ${Buffer.from("user:pass").toString("base64")}`],
    ["no token", "Bearer"],
    ["two tokens", `Bearer ${CRM_TOKEN} ${CRM_TOKEN}`],
    ["a character outside the token grammar", `Bearer ${CRM_TOKEN}"`],
    ["an absurdly long token", `Bearer ${"a".repeat(513)}`],
  ])("rejects a malformed header (%s) without reading the secret", async (_case, authorization) => {
    const authorize = createAuthorizer(SETTINGS);
    await expect(authorize(authorizerEvent({ authorization }))).resolves.toEqual({ isAuthorized: false });
    expect(secretReads()).toBe(0);
    expect(logLines()).toContainEqual(expect.objectContaining({ reason: "malformed bearer token" }));
  });

  it("rejects a wrong token", async () => {
    const authorize = createAuthorizer(SETTINGS);
    await expect(authorize(bearer(`${CRM_TOKEN}x`))).resolves.toEqual({ isAuthorized: false });
    await expect(authorize(bearer(hashToken(CRM_TOKEN)))).resolves.toEqual({ isAuthorized: false });
    expect(logLines()).toContainEqual(expect.objectContaining({ reason: "unknown or revoked token" }));
  });

  it("rejects a token whose hash was removed from the secret, once the cached copy expires", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const authorize = createAuthorizer(SETTINGS);
    await expect(authorize(bearer(CRM_TOKEN))).resolves.toMatchObject({ isAuthorized: true });
    storeTokens({ helpdesk: hashToken(HELPDESK_TOKEN) });
    // Still cached: revocation takes effect within the secret cache TTL, not instantly.
    vi.advanceTimersByTime(SETTINGS.secretCacheTtlMs - 1);
    await expect(authorize(bearer(CRM_TOKEN))).resolves.toMatchObject({ isAuthorized: true });
    vi.advanceTimersByTime(1);
    await expect(authorize(bearer(CRM_TOKEN))).resolves.toEqual({ isAuthorized: false });
    await expect(authorize(bearer(HELPDESK_TOKEN))).resolves.toMatchObject({ isAuthorized: true });
    expect(secretReads()).toBe(2);
  });

  it("rejects a client that is no longer enabled in the stack configuration, though its hash remains", async () => {
    const authorize = createAuthorizer({ ...SETTINGS, enabledClients: ["helpdesk"] });
    await expect(authorize(bearer(CRM_TOKEN))).resolves.toEqual({ isAuthorized: false });
    await expect(authorize(bearer(HELPDESK_TOKEN))).resolves.toMatchObject({ isAuthorized: true });
    expect(logLines()).toContainEqual(
      expect.objectContaining({
        level: "WARN",
        message: "client-token entry ignored",
        client: "example-crm",
        reason: "not enabled in the stack configuration",
      }),
    );
  });

  it("ignores an entry that is not a SHA-256 digest but keeps serving the others", async () => {
    storeTokens({ "example-crm": CRM_TOKEN, helpdesk: hashToken(HELPDESK_TOKEN) });
    const authorize = createAuthorizer(SETTINGS);
    await expect(authorize(bearer(CRM_TOKEN))).resolves.toEqual({ isAuthorized: false });
    await expect(authorize(bearer(HELPDESK_TOKEN))).resolves.toMatchObject({ isAuthorized: true });
    expect(logLines()).toContainEqual(
      expect.objectContaining({ client: "example-crm", reason: "not a SHA-256 hex digest" }),
    );
  });

  it("compares the token with every stored hash, even after a match", async () => {
    storeTokens({
      "example-crm": hashToken(CRM_TOKEN),
      helpdesk: hashToken(HELPDESK_TOKEN),
      third: hashToken("another"),
    });
    const authorize = createAuthorizer({ ...SETTINGS, enabledClients: ["example-crm", "helpdesk", "third"] });
    await authorize(bearer(CRM_TOKEN));
    expect(vi.mocked(timingSafeEqual)).toHaveBeenCalledTimes(3);
    vi.mocked(timingSafeEqual).mockClear();
    await authorize(bearer("no-such-token-at-all"));
    expect(vi.mocked(timingSafeEqual)).toHaveBeenCalledTimes(3);
  });

  it("reads the secret once per cache period, and once for concurrent cold requests", async () => {
    const authorize = createAuthorizer(SETTINGS);
    await Promise.all([
      authorize(bearer(CRM_TOKEN)),
      authorize(bearer(HELPDESK_TOKEN)),
      authorize(bearer("x")),
    ]);
    await authorize(bearer(CRM_TOKEN));
    expect(secretReads()).toBe(1);
  });

  it("fails (API Gateway answers 500, uncached) when the secret cannot be read, and reads it again seconds later", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error("User is not authorized"), { name: "AccessDeniedException" }))
      .resolves({ SecretString: JSON.stringify({ "example-crm": hashToken(CRM_TOKEN) }) });
    const authorize = createAuthorizer(SETTINGS);
    await expect(authorize(bearer(CRM_TOKEN))).rejects.toThrow("client tokens unavailable");
    expect(logLines()).toContainEqual(
      expect.objectContaining({
        level: "ERROR",
        message: "client tokens unavailable",
        errorName: "AccessDeniedException",
      }),
    );
    // Issue 14, finding 4: the failure is remembered for FAILURE_TTL_MS, then the secret is read again.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      for (let i = 0; i < 20; i++)
        await expect(authorize(bearer(CRM_TOKEN))).rejects.toThrow("client tokens unavailable");
      expect(secretReads()).toBe(1);
      vi.setSystemTime(Date.now() + FAILURE_TTL_MS);
      await expect(authorize(bearer(CRM_TOKEN))).resolves.toMatchObject({ isAuthorized: true });
      expect(secretReads()).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([
    ["not JSON", "not json"],
    ["a JSON array", '["example-crm"]'],
  ])("fails when the secret is %s", async (_case, value) => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: value });
    const authorize = createAuthorizer(SETTINGS);
    for (let i = 0; i < 20; i++)
      await expect(authorize(bearer(CRM_TOKEN))).rejects.toThrow("client tokens unavailable");
    expect(logLines()).toContainEqual(expect.objectContaining({ errorName: "ClientTokensFormatError" }));
    // A broken secret costs one read per container and failure window, not one per request.
    expect(secretReads()).toBe(1);
  });

  it("never writes the token to the logs", async () => {
    const authorize = createAuthorizer(SETTINGS);
    await authorize(bearer(CRM_TOKEN));
    await authorize(bearer(`${HELPDESK_TOKEN}-wrong`));
    await authorize(authorizerEvent({ authorization: `Token ${CRM_TOKEN}` }));
    expect(logLines().length).toBeGreaterThanOrEqual(3);
    const logged = output.join("");
    expect(logged).not.toContain(CRM_TOKEN);
    expect(logged).not.toContain(HELPDESK_TOKEN);
  });
});

describe("authorizer handler", () => {
  it("takes its settings from the environment the stack sets", async () => {
    vi.stubEnv("CLIENT_TOKENS_SECRET_ID", SECRET_ID);
    vi.stubEnv("CLIENTS", '["example-crm"]');
    vi.stubEnv("SECRET_CACHE_TTL_SECONDS", "60");
    await expect(handler(bearer(CRM_TOKEN))).resolves.toEqual({
      isAuthorized: true,
      context: { client: "example-crm" },
    });
    await expect(handler(bearer(HELPDESK_TOKEN))).resolves.toEqual({ isAuthorized: false });
  });

  it("refuses incomplete settings", () => {
    expect(() => settingsFromEnv({})).toThrow("CLIENT_TOKENS_SECRET_ID is not set");
    expect(() => settingsFromEnv({ CLIENT_TOKENS_SECRET_ID: "x", CLIENTS: '{"a":1}' })).toThrow(/CLIENTS/);
    expect(() => settingsFromEnv({ CLIENT_TOKENS_SECRET_ID: "x", SECRET_CACHE_TTL_SECONDS: "soon" })).toThrow(
      /SECRET_CACHE_TTL_SECONDS/,
    );
    expect(settingsFromEnv({ CLIENT_TOKENS_SECRET_ID: "x", CLIENTS: '["a"]' })).toEqual({
      secretId: "x",
      enabledClients: ["a"],
      secretCacheTtlMs: 300_000,
    });
  });
});

describe("npm run client-token", () => {
  it("mints a token that the authorizer accepts once its entry is stored", async () => {
    const minted = mintClientToken("example-crm");
    const entry = JSON.parse(`{${minted.secretEntry}}`);
    expect(entry).toEqual({ "example-crm": minted.hash });
    storeTokens(entry);
    await expect(createAuthorizer(SETTINGS)(bearer(minted.token))).resolves.toEqual({
      isAuthorized: true,
      context: { client: "example-crm" },
    });
  });

  it("mints 256-bit random tokens", () => {
    const tokens = new Set(Array.from({ length: 50 }, () => mintClientToken("crm").token));
    expect(tokens.size).toBe(50);
    for (const token of tokens) expect(token).toMatch(/^b24t_[A-Za-z0-9_-]{43}$/);
  });

  it("refuses names the configuration would refuse", () => {
    expect(() => mintClientToken("bad name")).toThrow(/invalid client name/);
    expect(() => mintClientToken("")).toThrow(/invalid client name/);
  });

  it("prints the token and the secret entry from the command line", async () => {
    const run = promisify(execFile);
    const { stdout: printed } = await run("npx", ["tsx", "scripts/client-token.ts", "example-crm"], {
      cwd: PROJECT_ROOT,
    });
    const token = /^ {2}(b24t_\S+)$/m.exec(printed)?.[1];
    const entry = /^ {2}("example-crm": "[0-9a-f]{64}")$/m.exec(printed)?.[1];
    expect(token).toBeDefined();
    expect(JSON.parse(`{${entry}}`)).toEqual({ "example-crm": hashToken(token as string) });
    await expect(run("npx", ["tsx", "scripts/client-token.ts"], { cwd: PROJECT_ROOT })).rejects.toMatchObject(
      {
        code: 2,
        stderr: expect.stringContaining("usage: npm run client-token -- <client-name>"),
      },
    );
  }, 60_000); // a tsx process: seconds on a shared machine
});
