import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../infra/bundling.ts";
import { type LocalAws, startLocalAws } from "../scripts/local-aws.ts";
import {
  type LocalSecretsExtension,
  startLocalSecretsExtension,
} from "../scripts/local-secrets-extension.ts";
import { DEMO_BOT, type Simulator, startSimulator } from "../scripts/simulator/index.ts";

/**
 * The deployed bundle in a fresh process, as Lambda starts it: INIT (the import) reads the default
 * portal's secret when AWS_LAMBDA_INITIALIZATION_TYPE says it runs on Lambda, and never fails because of it.
 */
const run = promisify(execFile);
const SECRET = "b24-transfer/init";
const BUNDLE = `${PROJECT_ROOT}/dist/lambda/index.mjs`;

// Imports the bundle, then (with "invoke") makes one direct invocation; prints what came back.
const CHILD = `
const { handler } = await import(${JSON.stringify(`file://${BUNDLE}`)});
process.stdout.write("imported\\n");
if (process.argv[1] === "invoke") {
  const context = { awsRequestId: "init-test", getRemainingTimeInMillis: () => 20000 };
  try { console.log(JSON.stringify(await handler({ chatId: 112, operatorId: 12 }, context))); }
  catch (error) { console.log(JSON.stringify({ error: error.message })); }
}`;

let aws: LocalAws;
let sim: Simulator;
let extension: LocalSecretsExtension;

beforeAll(async () => {
  sim = await startSimulator({ rateLimit: false });
  aws = await startLocalAws();
  extension = await startLocalSecretsExtension({ upstream: aws.url });
});
beforeEach(() => {
  aws.reset();
  sim.reset();
  aws.put(SECRET, JSON.stringify({ webhookUrl: sim.webhookUrl(), clientId: DEMO_BOT.clientId }));
});
afterAll(async () => {
  await Promise.all([aws.close(), sim.close(), extension.close()]);
});

async function start(mode: "import" | "invoke", env: Record<string, string>) {
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", CHILD, mode], {
    env: {
      PATH: process.env.PATH,
      ...aws.env(),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
      PORTALS: JSON.stringify({ main: SECRET }),
      DEFAULT_PORTAL: "main",
      ALLOW_HTTP_LOOPBACK: "true",
      ...env,
    },
    timeout: 15_000,
  });
  return stdout.trim().split("\n");
}

describe("INIT reads the default portal's secret", () => {
  it("on Lambda, during the import, and the first request uses it without another read", async () => {
    const lines = await start("invoke", { AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand" });
    expect(lines[0]).toBe("imported");
    expect(JSON.parse(lines[1] as string)).toMatchObject({ transferred: true, chatId: 112 });
    expect(aws.calls.get(SECRET)).toBe(1);
    expect(sim.ledger).toHaveLength(1);
  });

  it("through the extension when the function has it", async () => {
    const before = extension.requests;
    await start("import", { AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand", ...extension.env() });
    expect(extension.requests).toBe(before + 1);
  });

  it("not outside Lambda (local runs, tools)", async () => {
    await start("import", {});
    expect(aws.calls.get(SECRET)).toBeUndefined();
  });

  it("a failed read leaves INIT intact and the first request reports the problem", async () => {
    aws.failNext("AccessDeniedException", 1);
    const lines = await start("invoke", { AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand" });
    expect(lines[0]).toBe("imported");
    // The request read the secret again and transferred: the INIT failure cost nothing.
    expect(JSON.parse(lines[1] as string)).toMatchObject({ transferred: true });
    expect(aws.calls.get(SECRET)).toBe(2);
  });

  it("a missing secret at INIT is reported by the first request, not by a crash", async () => {
    const lines = await start("invoke", {
      AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
      PORTALS: JSON.stringify({ main: "b24-transfer/missing" }),
    });
    expect(lines[0]).toBe("imported");
    expect(JSON.parse(lines[1] as string)).toMatchObject({
      error: expect.stringContaining("PORTAL_MISCONFIGURED"),
    });
    expect(aws.calls.get("b24-transfer/missing")).toBe(2);
  });
});
