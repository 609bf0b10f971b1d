import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../infra/bundling.ts";
import { NODE_20_NOTE } from "../scripts/node-support.ts";

/** The package scripts as a newcomer meets them: help, refused settings, a readable console. */
function run(
  script: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", script, ...args],
      { cwd: PROJECT_ROOT, env: { ...process.env, SKIP_BUILD: "true", ...env }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

const SCRIPTS = [
  "scripts/start.ts",
  "scripts/invoke.ts",
  "scripts/doctor.ts",
  "scripts/client-token.ts",
  "scripts/build.ts",
  "scripts/openapi.ts",
  "scripts/load-test.ts",
  "scripts/replay-failures.ts",
  "scripts/synth.ts",
  "bench/run.ts",
];

describe("package scripts", () => {
  it("every script answers --help with its usage and exit status 0", async () => {
    const results = await Promise.all(SCRIPTS.map((script) => run(script, ["--help"])));
    results.forEach(({ code, out }, index) => {
      expect(code, `${SCRIPTS[index]}: ${out}`).toBe(0);
      expect(out.toLowerCase(), SCRIPTS[index]).toContain("usage: npm ");
    });
  }, 60_000);

  it("npm run mutation answers --help without installing or running anything, and refuses other options", async () => {
    const mutation = (arg: string) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile(
          "bash",
          ["mutation/run.sh", arg],
          { cwd: PROJECT_ROOT, timeout: 10_000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code) : 0, out: `${stdout}${stderr}` }),
        );
      });
    const help = await mutation("--help");
    expect(help.code, help.out).toBe(0);
    expect(help.out).toContain("usage: npm run mutation");
    expect(help.out).not.toMatch(/installing|Stryker \d/);
    const unknown = await mutation("--dry-run");
    expect(unknown.code).toBe(2);
    expect(unknown.out).toContain("mutation: unknown option --dry-run");
    expect(unknown.out).not.toMatch(/installing|Stryker \d/);
  });

  it("doctor and replay-failures print no SDK Node-version warning: one line instead on Node 20, nothing on 22+", async () => {
    const nowhere = "http://127.0.0.1:9";
    const env = {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
      AWS_REGION: "eu-central-1",
      AWS_ACCESS_KEY_ID: "AKIDLOCAL",
      AWS_SECRET_ACCESS_KEY: "local",
      AWS_ENDPOINT_URL_SECRETS_MANAGER: nowhere,
      AWS_ENDPOINT_URL_SQS: nowhere,
      AWS_MAX_ATTEMPTS: "1",
    };
    const results = await Promise.all([
      run("scripts/doctor.ts", ["--secret-id", "b24/main"], env),
      run(
        "scripts/replay-failures.ts",
        ["--queue-url", `${nowhere}/1/q`, "--function", "fn", "--signing-secret", "signing"],
        env,
      ),
    ]);
    const major = Number(process.versions.node.split(".")[0]);
    for (const { code, out } of results) {
      expect(code, out).toBe(1);
      expect(out).toMatch(/ECONNREFUSED/);
      expect(out).not.toMatch(/NodeVersionSupportWarning|AWS SDK for JavaScript \(v3\)/);
      expect(out.split(NODE_20_NOTE).length - 1).toBe(major < 22 ? 1 : 0);
    }
  });

  it("npm start refuses a B24_WEBHOOK_URL the function could not use, naming the variable", async () => {
    const garbage = await run("scripts/start.ts", [], { B24_WEBHOOK_URL: "garbage", PORT: "0" });
    expect(garbage.code).toBe(2);
    expect(garbage.out).toContain("B24_WEBHOOK_URL");
    expect(garbage.out).toContain("not a URL");
    const plain = await run("scripts/invoke.ts", ["direct-single"], {
      B24_WEBHOOK_URL: "http://portal.example.com/rest/1/abcdef123456/",
    });
    expect(plain.code).toBe(2);
    expect(plain.out).toContain("must use https");
    expect(plain.out).not.toContain("abcdef123456");
  });

  it("npm run synth reports configuration errors as the bare list, nothing else", async () => {
    const config = {
      stackName: "X",
      portals: {},
      defaultPortal: "main",
      throttling: { rateLimit: 1, burstLimit: 1 },
    };
    const outdir = mkdtempSync(join(tmpdir(), "b24-synth-"));
    const result = await run("scripts/synth.ts", [
      "--no-notices",
      "--output",
      outdir,
      "-c",
      `b24-transfer=${JSON.stringify(config)}`,
    ]);
    rmSync(outdir, { recursive: true, force: true });
    expect(result.code).toBe(1);
    expect(result.out.trim().split("\n")).toEqual([
      'Invalid cdk.json context "b24-transfer":',
      "  - portals: configure at least one portal",
      '  - defaultPortal: "main" is not one of the configured portals ()',
      '  - clients: token authorization needs at least one client name (or set authorization to "iam")',
    ]);
  }, 60_000);

  it("npm start on a taken port says which variable to set", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as AddressInfo).port;
    const result = await run("scripts/start.ts", [], { PORT: String(port) });
    taken.close();
    expect(result.code).toBe(2);
    expect(result.out).toContain(`port ${port} is taken`);
    expect(result.out).toContain(`PORT=${port + 1} npm start`);
    expect(result.out).not.toContain("EADDRINUSE");
  });

  it("keeps the console readable: no SDK Node-version notice, no metrics documents", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        PORT: "0",
        SKIP_BUILD: "true",
        B24_WEBHOOK_URL: "",
        POWERTOOLS_LOG_LEVEL: "INFO",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
        POWERTOOLS_METRICS_DISABLED: undefined,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      while (!/curl -sS -X POST (\S+)/.test(output)) await new Promise((r) => setTimeout(r, 50));
      const url = (output.match(/curl -sS -X POST (\S+)/) as RegExpMatchArray)[1] as string;
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ chatId: 112, operatorId: 12 }),
      });
      expect(response.status).toBe(200);
      while (!output.includes('"message":"transfer"')) await new Promise((r) => setTimeout(r, 50));
      expect(output).toContain("ledger: ");
      expect(output).not.toContain("NodeVersionSupportWarning");
      expect(output).not.toContain('"_aws"');
      expect(output).toMatch(
        /B24_WEBHOOK_URL=http:\/\/127\.0\.0\.1:\d+\/rest\/\S+ B24_CLIENT_ID=\S+ npm run doctor/,
      );
    } finally {
      child.kill("SIGINT");
      await once(child, "exit");
    }
  }, 30_000);
});
