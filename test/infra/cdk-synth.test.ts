import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { APIGatewayRequestAuthorizerEventV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleLambda, PROJECT_ROOT } from "../../infra/bundling.ts";
import { hashToken } from "../../lambda/auth/token-hash.ts";
import { type LocalAws, startLocalAws } from "../../scripts/local-aws.ts";

/**
 * The one place the suite runs `npx cdk synth` as a user would (cdk.json settings, cdk-nag, real
 * esbuild bundling), offline and without AWS credentials or Docker, then loads the bundles it wrote:
 * what these tests run is the code `cdk deploy` would upload.
 */

const run = promisify(execFile);

interface CfnFunction {
  Type: string;
  Properties: { Description: string; Handler: string; Environment: { Variables: Record<string, unknown> } };
  Metadata: { "aws:asset:path": string };
}

/**
 * Digest of every module of a bundle (entry and chunks) by relative path. Source maps are left out:
 * they hold paths relative to wherever the bundle was written.
 */
function codeDigests(dir: string): Record<string, string> {
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".mjs"));
  return Object.fromEntries(
    files.sort().map((file) => [
      file,
      createHash("sha256")
        .update(readFileSync(join(dir, file)))
        .digest("hex"),
    ]),
  );
}

/** Everything that could make the CLI reach AWS is removed; Docker is not on the path either. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("AWS_") && !key.startsWith("CDK_")) env[key] = value;
  }
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    CDK_DISABLE_CLI_TELEMETRY: "true",
  };
}

describe("npx cdk synth", () => {
  let outdir: string;
  let scratch: string;
  let synth: { stdout: string; stderr: string };
  let functions: Record<string, CfnFunction>;
  let secrets: LocalAws;

  const bundlePath = (fn: CfnFunction) => join(outdir, fn.Metadata["aws:asset:path"], "index.mjs");
  const byDescription = (pattern: RegExp) => {
    const found = Object.values(functions).filter((fn) => pattern.test(fn.Properties.Description));
    expect(found).toHaveLength(1);
    return found[0] as CfnFunction;
  };

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), "b24-transfer-cdk-out-"));
    synth = await run("npx", ["cdk", "synth", "--quiet", "--no-notices", "--output", outdir], {
      cwd: PROJECT_ROOT,
      env: offlineEnv(),
      // About 50 s on a quiet 2-core machine (two bundles, cdk-nag over the whole stack); CI shares it.
      timeout: 240_000,
    });
    const template = JSON.parse(readFileSync(join(outdir, "B24Transfer.template.json"), "utf8"));
    functions = Object.fromEntries(
      Object.entries(template.Resources as Record<string, CfnFunction>).filter(
        ([, r]) => r.Type === "AWS::Lambda::Function",
      ),
    );
    // Right after the synth, so both see the same sources even while someone edits them.
    scratch = mkdtempSync(join(tmpdir(), "b24-transfer-bundle-"));
    await Promise.all([
      bundleLambda("transfer", join(scratch, "transfer")),
      bundleLambda("authorizer", join(scratch, "authorizer")),
    ]);
    secrets = await startLocalAws();
  }, 250_000);

  afterAll(async () => {
    await secrets?.close();
    for (const dir of [outdir, scratch]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("synthesizes the cdk.json configuration with no validation finding", () => {
    expect(Object.keys(functions)).toHaveLength(2);
    const report = JSON.parse(readFileSync(join(outdir, "validation-report.json"), "utf8"));
    expect(report.pluginReports).toEqual([]);
    expect(synth.stderr).not.toMatch(/error|docker/i);
  });

  it("deploys each function's own bundle", () => {
    const transfer = byDescription(/hands a Bitrix24/);
    const authorizer = byDescription(/authorizer/);
    expect(transfer.Metadata["aws:asset:path"]).not.toBe(authorizer.Metadata["aws:asset:path"]);
    expect(transfer.Properties.Handler).toBe("index.handler");
    expect(authorizer.Properties.Handler).toBe("index.handler");
  });

  it("deploys byte for byte the code that infra/bundling.ts builds for tests and benchmarks", () => {
    for (const [name, pattern] of [
      ["transfer", /hands a Bitrix24/],
      ["authorizer", /authorizer/],
    ] as const) {
      const deployed = join(outdir, byDescription(pattern).Metadata["aws:asset:path"]);
      expect(codeDigests(deployed), name).toEqual(codeDigests(join(scratch, name)));
    }
  });

  it("deploys a transfer bundle that exports the Lambda handler", async () => {
    const bundle = await import(pathToFileURL(bundlePath(byDescription(/hands a Bitrix24/))).href);
    expect(bundle.handler).toBeTypeOf("function");
  });

  it("deploys an authorizer bundle that accepts a minted token and rejects others", async () => {
    const authorizerFn = byDescription(/authorizer/);
    const variables = authorizerFn.Properties.Environment.Variables;
    // The template's own settings, with the secret reference resolved to a local secret.
    const token = "b24t_synthesized-bundle-test-token-0123456789abcdefghijk";
    secrets.put("client-tokens", JSON.stringify({ "example-crm": hashToken(token), other: hashToken("x") }));
    Object.assign(process.env, secrets.env(), {
      CLIENT_TOKENS_SECRET_ID: "client-tokens",
      CLIENTS: variables.CLIENTS,
      SECRET_CACHE_TTL_SECONDS: variables.SECRET_CACHE_TTL_SECONDS,
    });
    const { handler } = await import(pathToFileURL(bundlePath(authorizerFn)).href);
    const event = (authorization?: string): APIGatewayRequestAuthorizerEventV2 => {
      const sample = JSON.parse(
        readFileSync(
          new URL(
            "../fixtures/events/apigw-http-v2__lambda-authorizer-REQUEST-input__powertools.json",
            import.meta.url,
          ),
          "utf8",
        ),
      );
      const { authorization: _, ...headers } = sample.headers;
      return { ...sample, headers: authorization === undefined ? headers : { ...headers, authorization } };
    };
    await expect(handler(event(`Bearer ${token}`))).resolves.toEqual({
      isAuthorized: true,
      context: { client: "example-crm" },
    });
    await expect(handler(event("Bearer wrong-token-value"))).resolves.toEqual({ isAuthorized: false });
    await expect(handler(event())).resolves.toEqual({ isAuthorized: false });
    expect(secrets.calls.get("client-tokens")).toBe(1);
  });
});
