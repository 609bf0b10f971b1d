import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { secretsExtensionFromEnv } from "../lambda/aws/secrets-extension.ts";
import { readSecret } from "../lambda/aws/secrets-manager.ts";
import { type LocalAws, startLocalAws } from "../scripts/local-aws.ts";
import {
  type LocalSecretsExtension,
  startLocalSecretsExtension,
} from "../scripts/local-secrets-extension.ts";

// The real SDK client (fallback) reaches the Secrets Manager stand-in; the extension is emulated on loopback.
let aws: LocalAws;
let extension: LocalSecretsExtension;
const saved = { ...process.env };

beforeAll(async () => {
  aws = await startLocalAws();
  extension = await startLocalSecretsExtension({ upstream: aws.url, ttlMs: 60_000 });
  Object.assign(process.env, aws.env());
});

afterEach(() => {
  for (const key of Object.keys(extension.env())) delete process.env[key];
  Object.assign(process.env, { AWS_SESSION_TOKEN: saved.AWS_SESSION_TOKEN ?? "" });
  if (saved.AWS_SESSION_TOKEN === undefined) delete process.env.AWS_SESSION_TOKEN;
});

afterAll(async () => {
  await Promise.all([aws.close(), extension.close()]);
});

const webhook = (n: number) =>
  JSON.stringify({ webhookUrl: `https://portal-${n}.bitrix24.com/rest/1/code${n}/` });

describe("reading a secret through the Parameters and Secrets extension", () => {
  it("reads through the extension when it is configured, and a re-read within its TTL from Secrets Manager", async () => {
    Object.assign(process.env, extension.env());
    aws.put("ext/a", webhook(1));
    const before = extension.requests;

    const first = await readSecret("ext/a");
    expect(first.value).toBe(webhook(1));
    expect(extension.requests).toBe(before + 1);
    expect(aws.calls.get("ext/a")).toBe(1); // the extension's own call

    // A forced refresh (e.g. after an authentication error) must see a rotated value at once.
    aws.put("ext/a", webhook(2));
    const second = await readSecret("ext/a");
    expect(second.value).toBe(webhook(2));
    expect(extension.requests).toBe(before + 1);
    expect(aws.calls.get("ext/a")).toBe(2);
  });

  it("goes back to the extension once its cache has expired", async () => {
    Object.assign(process.env, extension.env());
    aws.put("ext/b", webhook(3));
    let clock = 1_000_000;
    await readSecret("ext/b", () => clock);
    const requests = extension.requests;
    clock += 60_000;
    await readSecret("ext/b", () => clock);
    expect(extension.requests).toBe(requests + 1);
  });

  it("falls back to the SDK when the extension is absent, refuses the token or fails", async () => {
    aws.put("ext/c", webhook(4));
    // Nothing listens on the configured port.
    Object.assign(process.env, extension.env(), { PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: "1" });
    expect((await readSecret("ext/c")).value).toBe(webhook(4));
    // A wrong session token: the extension answers 401.
    Object.assign(process.env, extension.env(), { AWS_SESSION_TOKEN: "not-the-token" });
    const requests = extension.requests;
    expect((await readSecret("ext/c")).value).toBe(webhook(4));
    expect(extension.requests).toBe(requests + 1);
    expect(aws.calls.get("ext/c")).toBe(2);
  });

  it("reports a missing secret with the SDK's typed error", async () => {
    Object.assign(process.env, extension.env());
    await expect(readSecret("ext/missing")).rejects.toMatchObject({ name: "ResourceNotFoundException" });
  });

  it("uses the SDK alone when the extension is not configured", async () => {
    aws.put("ext/d", webhook(5));
    const requests = extension.requests;
    expect((await readSecret("ext/d")).value).toBe(webhook(5));
    expect(extension.requests).toBe(requests);
    expect(aws.calls.get("ext/d")).toBe(1);
  });
});

describe("secretsExtensionFromEnv", () => {
  it("needs the port and a session token, and caps the cache TTL at the extension's 300 s", () => {
    expect(secretsExtensionFromEnv({ AWS_SESSION_TOKEN: "t" })).toBeUndefined();
    expect(secretsExtensionFromEnv({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: "2773" })).toBeUndefined();
    expect(
      secretsExtensionFromEnv({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: "x", AWS_SESSION_TOKEN: "t" }),
    ).toBeUndefined();
    expect(
      secretsExtensionFromEnv({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: "2773", AWS_SESSION_TOKEN: "t" }),
    ).toEqual({ port: 2773, token: "t", cacheTtlMs: 300_000 });
    expect(
      secretsExtensionFromEnv({
        PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: "2773",
        AWS_SESSION_TOKEN: "t",
        SECRETS_MANAGER_TTL: "900",
      })?.cacheTtlMs,
    ).toBe(300_000);
    expect(
      secretsExtensionFromEnv({
        PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: "2773",
        AWS_SESSION_TOKEN: "t",
        PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED: "false",
      })?.cacheTtlMs,
    ).toBe(0);
  });
});
