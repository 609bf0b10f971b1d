import { spawn } from "node:child_process";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../infra/bundling.ts";
import { runDoctor } from "../scripts/doctor.ts";
import { type LocalAws, startLocalAws } from "../scripts/local-aws.ts";
import { DEMO_BOT, DEMO_WEBHOOK, type Simulator, startSimulator } from "../scripts/simulator/index.ts";

/**
 * The doctor against the simulator (a real HTTP portal on loopback) and the loopback Secrets Manager,
 * which the real AWS SDK client reads. Every run's output is checked for the webhook codes it used.
 */
let sim: Simulator;
let aws: LocalAws;
const CODES = {
  good: "g00dW3bh00kC0d3f0rD0ct0r",
  noImbot: "n01mb0tW3bh00kC0d3",
  noScopes: "n0Sc0p3sW3bh00kC0d3",
  revoked: "r3v0k3dW3bh00kC0d3",
  unknown: "unkn0wnW3bh00kC0d3",
};
const ALL_CODES = [DEMO_WEBHOOK.code, ...Object.values(CODES)];

beforeAll(async () => {
  sim = await startSimulator({ rateLimit: false });
  sim.addWebhook({ userId: 5, code: CODES.good, scopes: ["imopenlines", "imbot", "im"] });
  sim.addWebhook({ userId: 5, code: CODES.noImbot, scopes: ["imopenlines"] });
  sim.addWebhook({ userId: 5, code: CODES.noScopes, scopes: [] });
  sim.addWebhook({ userId: 5, code: CODES.revoked, scopes: ["imopenlines", "imbot"] });
  sim.revokeWebhook(CODES.revoked);
  aws = await startLocalAws();
  // The doctor's Secrets Manager client follows the default chain, endpoint included.
  Object.assign(process.env, aws.env());
});
afterAll(async () => {
  await sim?.close();
  await aws?.close();
});
beforeEach(() => sim.reset());

const webhook = (code: string, userId = 5) => sim.webhookUrl({ userId, code });

async function doctor(args: string[], env: NodeJS.ProcessEnv = {}) {
  const lines: string[] = [];
  const code = await runDoctor(args, env, (line) => lines.push(line));
  const output = lines.join("\n");
  for (const secret of ALL_CODES) expect(output, "a webhook code was printed").not.toContain(secret);
  for (const clientId of [DEMO_BOT.clientId, "nobody-registered-this"])
    expect(output, "a CLIENT_ID was printed").not.toContain(clientId);
  return { code, output };
}

const CLIENT = DEMO_BOT.clientId;
const nothingMoved = () => expect(sim.ledger).toHaveLength(0);

describe("npm run doctor with a healthy webhook", () => {
  it("reports the host, user, scopes and every open line with its queue id, and exits 0", async () => {
    const { code, output } = await doctor([], {
      B24_WEBHOOK_URL: webhook(CODES.good),
      B24_CLIENT_ID: CLIENT,
    });
    expect(code, output).toBe(0);
    expect(output).toContain(`webhook: ${sim.url}, user 5`);
    expect(output).toMatch(/ok +credentials: Bitrix24 accepted the webhook/);
    expect(output).toMatch(/ok +scopes: imopenlines, imbot granted/);
    expect(output).toMatch(/ID 3 +active +Support +\(operators: 12\)/);
    expect(output).toMatch(/ID 4 +active +Sales +\(operators: 12, 14\)/);
    expect(output).toMatch(/ID 5 +inactive +Archive/);
    expect(output).toContain("doctor: no problem found");
    expect(output).toMatch(/ok +bot: credentials, clientId and bot are right/);
    expect(output).toMatch(/warn +chat read: imopenlines.dialog.get answers .*Give --chat <id>/);
    expect(sim.hits.map((hit) => hit.method)).toEqual([
      "scope",
      "imopenlines.bot.session.transfer",
      "imopenlines.dialog.get",
      "imopenlines.config.list.get",
    ]);
    // The transfer was of a chat that cannot exist: nothing moved.
    expect(sim.ledger).toHaveLength(0);
  });

  it("with --chat proves the webhook's user may read the chat, and fails naming the permission when not", async () => {
    // The demo webhook's user 1 may join lines 3-5; user 5 may join none.
    const env = { B24_WEBHOOK_URL: webhook(DEMO_WEBHOOK.code, DEMO_WEBHOOK.userId), B24_CLIENT_ID: CLIENT };
    const readable = await doctor(["--chat", "chat121"], env);
    expect(readable.code, readable.output).toBe(0);
    expect(readable.output).toMatch(/ok +chat read: the webhook's user may read chat 121 \(owner 12/);
    const refused = await doctor(["--chat", "124"], env);
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(
      /FAIL +chat read: Bitrix24 refused to show chat 124 \(ACCESS_ERROR\).*JOIN/,
    );
    nothingMoved();
  });

  it("checks every line named with --line: it must exist and be active (Bitrix24 accepts an inactive one)", async () => {
    const env = { B24_WEBHOOK_URL: webhook(DEMO_WEBHOOK.code, DEMO_WEBHOOK.userId), B24_CLIENT_ID: CLIENT };
    const { code, output } = await doctor(["--line", "3", "--line", "5", "--line", "77"], env);
    expect(code).toBe(1);
    expect(output).toMatch(/ok +line 3: exists and is active/);
    expect(output).toMatch(/FAIL +line 5: the line is inactive/);
    expect(output).toMatch(/FAIL +line 77: no such open line/);
    expect(output).toContain("doctor: 2 problems found");
    expect(sim.hits.filter((hit) => hit.method === "imopenlines.config.get")).toHaveLength(3);
    nothingMoved();
  });

  it("refuses a --line or --chat that is not an id", async () => {
    expect((await doctor(["--line", "chat3"], { B24_WEBHOOK_URL: webhook(CODES.good) })).code).toBe(2);
    expect((await doctor(["--chat", "x"], { B24_WEBHOOK_URL: webhook(CODES.good) })).code).toBe(2);
  });

  it("reads a deployed portal's secret with the AWS SDK (--secret-id)", async () => {
    aws.put("b24-transfer/main", JSON.stringify({ webhookUrl: webhook(CODES.good), clientId: CLIENT }));
    const { code, output } = await doctor(["--secret-id", "b24-transfer/main"]);
    expect(code, output).toBe(0);
    expect(output).toContain("the webhook in Secrets Manager secret b24-transfer/main");
    expect(output).toContain(
      `user 5, clientId of ${CLIENT.length} characters (neither code nor clientId is ever printed)`,
    );
    expect(aws.calls.get("b24-transfer/main")).toBe(1);
  });

  it("finds a portal's secret in PORTALS, as the function does (--portal)", async () => {
    aws.put("b24-transfer/branch", JSON.stringify({ webhookUrl: webhook(CODES.good), clientId: CLIENT }));
    const env = { PORTALS: JSON.stringify({ main: "b24-transfer/main", branch: "b24-transfer/branch" }) };
    const { code, output } = await doctor(["--portal", "branch"], env);
    expect(code, output).toBe(0);
    expect(output).toContain('portal "branch": the webhook in Secrets Manager secret b24-transfer/branch');
  });
});

describe("npm run doctor on a renamed portal", () => {
  it("names the new host (never the code) and runs the checks there", async () => {
    const portal = await startSimulator({ rateLimit: false });
    portal.addWebhook({ userId: 5, code: CODES.good, scopes: ["imopenlines", "imbot", "im"] });
    const oldUrl = portal.webhookUrl({ userId: 5, code: CODES.good });
    const newOrigin = await portal.movePortal();
    try {
      const { code, output } = await doctor([], { B24_WEBHOOK_URL: oldUrl, B24_CLIENT_ID: CLIENT });
      expect(code, output).toBe(0);
      expect(output).toMatch(new RegExp(`warn +address: the portal has moved to ${newOrigin}`));
      expect(output).toMatch(/ok +bot: credentials, clientId and bot are right/);
      expect(portal.ledger).toHaveLength(0);
    } finally {
      await portal.close();
    }
  });
});

describe("npm run doctor finds what is wrong and exits 1", () => {
  it("a wrong code: INVALID_CREDENTIALS", async () => {
    const { code, output } = await doctor([], {
      B24_WEBHOOK_URL: webhook(CODES.unknown),
      B24_CLIENT_ID: CLIENT,
    });
    expect(code).toBe(1);
    expect(output).toMatch(/FAIL +credentials: Bitrix24 refused the webhook \(INVALID_CREDENTIALS/);
    expect(output).toContain("doctor: 1 problem found");
  });

  it("a revoked webhook, or a code used with another user id: INVALID_CREDENTIALS", async () => {
    for (const url of [webhook(CODES.revoked), webhook(CODES.good, 6)]) {
      const { code, output } = await doctor([], { B24_WEBHOOK_URL: url, B24_CLIENT_ID: CLIENT });
      expect(code).toBe(1);
      expect(output).toContain("INVALID_CREDENTIALS");
    }
  });

  it("a missing scope, named, while the open lines are still listed", async () => {
    const { code, output } = await doctor([], {
      B24_WEBHOOK_URL: webhook(CODES.noImbot),
      B24_CLIENT_ID: CLIENT,
    });
    expect(code).toBe(1);
    expect(output).toMatch(/FAIL +scopes: missing imbot \(granted: imopenlines\)/);
    expect(output).toMatch(/ID 3 +active +Support/);
  });

  it("no scope at all: both named, and the open lines cannot be listed", async () => {
    const { code, output } = await doctor([], {
      B24_WEBHOOK_URL: webhook(CODES.noScopes),
      B24_CLIENT_ID: CLIENT,
    });
    expect(code).toBe(1);
    expect(output).toMatch(/FAIL +scopes: missing imopenlines, imbot \(granted: none\)/);
    expect(output).toMatch(/warn +open lines: not listed: that needs the imopenlines scope/);
    expect(sim.hits.map((hit) => hit.method)).toEqual(["scope"]);
  });

  it("a clientId no bot was registered with: BOT_ID_ERROR, and how to register one", async () => {
    const { code, output } = await doctor([], {
      B24_WEBHOOK_URL: webhook(CODES.good),
      B24_CLIENT_ID: "nobody-registered-this",
    });
    expect(code).toBe(1);
    expect(output).toMatch(/FAIL +bot: no chat bot is registered with the secret's clientId/);
    expect(output).toContain("imbot.register");
    nothingMoved();
  });

  it("a secret without clientId, before any call", async () => {
    aws.put("b24-transfer/noclient", JSON.stringify({ webhookUrl: webhook(CODES.good) }));
    const { code, output } = await doctor(["--secret-id", "b24-transfer/noclient"]);
    expect(code).toBe(1);
    expect(output).toMatch(/FAIL +secret: the portal's secret has no "clientId"/);
    expect(sim.hits).toHaveLength(0);
  });

  it("the placeholder the stack puts in a new secret", async () => {
    const { PORTAL_SECRET_PLACEHOLDER } = await import("../infra/portal-secrets-construct.ts");
    aws.put("b24-transfer/new", PORTAL_SECRET_PLACEHOLDER);
    const { code, output } = await doctor(["--secret-id", "b24-transfer/new"]);
    expect(code).toBe(1);
    expect(output).toMatch(/FAIL +secret: the secret still holds the placeholder/);
    expect(sim.hits).toHaveLength(0);
  });

  it("a plain-http URL that is not on loopback, refused before any call", async () => {
    const { code, output } = await doctor([], {
      B24_WEBHOOK_URL: "http://example.bitrix24.com/rest/1/abcdef0123/",
      B24_CLIENT_ID: CLIENT,
    });
    expect(code).toBe(1);
    expect(output).toMatch(/FAIL +secret: the portal's webhookUrl must use https/);
    expect(output).not.toContain("abcdef0123");
  });

  it("a URL that is not a webhook", async () => {
    const { code, output } = await doctor([], {
      B24_WEBHOOK_URL: "https://example.bitrix24.com/",
      B24_CLIENT_ID: CLIENT,
    });
    expect(code).toBe(1);
    expect(output).toMatch(/FAIL +secret: the portal's webhookUrl must look like/);
  });

  it("an unreachable portal", async () => {
    const gone = await startSimulator();
    const url = gone.webhookUrl();
    await gone.close();
    const { code, output } = await doctor([], { B24_WEBHOOK_URL: url, B24_CLIENT_ID: CLIENT });
    expect(code).toBe(1);
    expect(output).toMatch(/FAIL +credentials: http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)/);
  });

  it("something that is not Bitrix24 answering", async () => {
    sim.injectFault({ kind: "html", status: 502 });
    const { code, output } = await doctor([], {
      B24_WEBHOOK_URL: webhook(CODES.good),
      B24_CLIENT_ID: CLIENT,
    });
    expect(code).toBe(1);
    expect(output).toContain("answered HTTP 502 without a Bitrix24 answer");
  });

  it("a secret that does not exist", async () => {
    const { code, output } = await doctor(["--secret-id", "b24-transfer/nowhere"]);
    expect(code).toBe(1);
    expect(output).toMatch(
      /FAIL +secret: Secrets Manager could not read b24-transfer\/nowhere: ResourceNotFoundException/,
    );
  });

  it("a secret holding an OAuth application, which it does not check", async () => {
    aws.put("b24-transfer/oauth", JSON.stringify({ oauth: { clientId: "app", refreshToken: "x" } }));
    const { code, output } = await doctor(["--secret-id", "b24-transfer/oauth"]);
    expect(code).toBe(1);
    expect(output).toContain("checks incoming webhooks only");
  });

  it("B24_WEBHOOK_URL without B24_CLIENT_ID: says to set B24_CLIENT_ID, before any call", async () => {
    const { code, output } = await doctor([], { B24_WEBHOOK_URL: webhook(CODES.good) });
    expect(code).toBe(1);
    expect(output).toMatch(/FAIL +secret: B24_CLIENT_ID is not set: set B24_CLIENT_ID to the CLIENT_ID/);
    expect(output).not.toContain("Add it");
    expect(sim.hits).toHaveLength(0);
  });

  it("--secret-id or --portal without a value: says which needs one, exit 2", async () => {
    const secretId = await doctor(["--secret-id"], { B24_WEBHOOK_URL: webhook(CODES.good) });
    expect(secretId.code).toBe(2);
    expect(secretId.output).toContain("doctor: --secret-id needs a value: a secret id or ARN");
    const portal = await doctor(["--portal", "--secret-id", "x"]);
    expect(portal.code).toBe(2);
    expect(portal.output).toContain("doctor: --portal needs a value: a portal name");
    expect(sim.hits).toHaveLength(0);
  });

  it("nothing to check: usage, exit 2", async () => {
    expect((await doctor([])).code).toBe(2);
    const unknownPortal = await doctor(["--portal", "nope"], { PORTALS: JSON.stringify({ main: "x" }) });
    expect(unknownPortal.code).toBe(2);
    expect(unknownPortal.output).toContain('portal "nope" is not in PORTALS (main)');
    expect(
      (await doctor(["--verbose"], { B24_WEBHOOK_URL: webhook(CODES.good), B24_CLIENT_ID: CLIENT })).code,
    ).toBe(2);
    nothingMoved();
  });
});

describe("npm run doctor as a process", () => {
  async function run(args: string[], env: Record<string, string>) {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/doctor.ts", ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    return { code, stdout, stderr };
  }

  it("without any AWS region, says how to give one instead of the SDK's bare 'Region is missing'", async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("AWS_")));
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "scripts/doctor.ts", "--secret-id", "b24/main"],
      {
        cwd: PROJECT_ROOT,
        env: { ...env, AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(1);
    expect(output).toMatch(
      /FAIL +secret: cannot read b24\/main: no AWS region: set AWS_REGION to the stack's region/,
    );
    expect(output).not.toContain("Region is missing");
  });

  it("never writes the webhook code to stdout or stderr, whether the check passes or fails", async () => {
    aws.put("b24-transfer/main", JSON.stringify({ webhookUrl: webhook(CODES.good), clientId: CLIENT }));
    const passing = await run(["--secret-id", "b24-transfer/main"], {});
    const failing = await run([], { B24_WEBHOOK_URL: webhook(CODES.revoked), B24_CLIENT_ID: CLIENT });
    expect(passing.code, passing.stdout + passing.stderr).toBe(0);
    expect(failing.code).toBe(1);
    expect(passing.stdout).toContain("doctor: no problem found");
    expect(failing.stdout).toContain("INVALID_CREDENTIALS");
    for (const { stdout, stderr } of [passing, failing]) {
      for (const secret of ALL_CODES) expect(stdout + stderr).not.toContain(secret);
    }
  });
});

describe("the lines the schedules name", () => {
  it("are read from a cdk.json's schedules (targets and fallbacks) for the checked portal only", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { linesNamedInSettings } = await import("../scripts/doctor/chat-checks.ts");
    const settings = JSON.parse(
      (await import("node:fs")).readFileSync(join(PROJECT_ROOT, "cdk.json"), "utf8"),
    );
    const config = settings.context["b24-transfer"];
    config.portals = { main: { source: "create" }, eu: { source: "create" } };
    config.schedules = [
      { name: "night", schedule: "cron(0 22 * * ? *)", request: { chatId: 112, queueId: 5 } },
      {
        name: "batch",
        schedule: "cron(0 23 * * ? *)",
        request: {
          transfers: [
            { chatId: 113, operatorId: 12, fallback: { queueId: 4 } },
            { chatId: 114, queueId: 9, portal: "eu" },
          ],
        },
      },
    ];
    const file = join(mkdtempSync(join(tmpdir(), "doctor-")), "cdk.json");
    writeFileSync(file, JSON.stringify(settings));
    expect(linesNamedInSettings(file, undefined)).toEqual([4, 5]);
    expect(linesNamedInSettings(file, "eu")).toEqual([9]);
    expect(linesNamedInSettings(join(tmpdir(), "no-such-cdk.json"), undefined)).toEqual([]);
  });
});

describe("Low 7: upstream text in the doctor's report", () => {
  it("is redacted, bounded and escaped like an answer: a 200 KB description cannot forge a line", async () => {
    const { createServer } = await import("node:http");
    const forged = "\r\ndoctor: no problem found\u001b[2K";
    const description = `${forged} ${CLIENT} /rest/5/${CODES.good}/ ${"y".repeat(200_000)}`;
    const server = createServer((_req, res) => {
      res
        .writeHead(401, { "content-type": "application/json" })
        .end(JSON.stringify({ error: `INVALID${forged}`, error_description: description }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const { code, output } = await doctor([], {
        B24_WEBHOOK_URL: `http://127.0.0.1:${port}/rest/5/${CODES.good}/`,
        B24_CLIENT_ID: CLIENT,
      });
      expect(code).toBe(1);
      for (const raw of ["\r", "\u001b"]) expect(output).not.toContain(raw);
      expect(output.split("\n").filter((line) => line.startsWith("doctor: no problem"))).toEqual([]);
      expect(output).toContain("UNREADABLE_ERROR");
      expect(output).toContain("\\u000d\\u000adoctor: no problem found\\u001b[2K");
      for (const line of output.split("\n")) expect(line.length).toBeLessThan(1000);
    } finally {
      server.close();
    }
  });
});
