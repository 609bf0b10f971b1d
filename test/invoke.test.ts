import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../infra/bundling.ts";
import {
  DEFAULT_TIMEOUT_SECONDS,
  describeEvent,
  exitCodeFor,
  invoke,
  listSamples,
  loadEvent,
  type Outcome,
} from "../scripts/invoke.ts";
import { type LocalEnvironment, startLocalEnvironment } from "../scripts/local-environment.ts";
import { DEMO_WEBHOOK, startSimulator } from "../scripts/simulator/index.ts";

const fixture = (name: string) =>
  JSON.parse(readFileSync(`${PROJECT_ROOT}/test/fixtures/events/${name}`, "utf8")) as Record<string, unknown>;

/** What each sample must do against the demo portal: the answer, and the chats really transferred. */
const EXPECTED: Record<string, { describe: RegExp; result: unknown; ledger: number[]; exit: number }> = {
  "http-api-single": {
    describe: /HTTP API \(payload 2\.0\)/,
    result: { statusCode: 200, body: { transferred: true, chatId: 112, target: { operatorId: 12 } } },
    ledger: [112],
    exit: 0,
  },
  "http-api-batch": {
    describe: /HTTP API \(payload 2\.0\)/,
    result: { statusCode: 200, body: { succeeded: 2, failed: 0 } },
    ledger: [113, 114],
    exit: 0,
  },
  "rest-api-single-base64": {
    describe: /REST API \(payload 1\.0\)/,
    result: { statusCode: 200, body: { transferred: true, chatId: 115, target: { queueId: 4 } } },
    ledger: [115],
    exit: 0,
  },
  "direct-single": {
    describe: /direct invocation/,
    result: { transferred: true, chatId: 116, target: { operatorId: 14 } },
    ledger: [116],
    exit: 0,
  },
  "direct-hand-over": {
    describe: /direct invocation/,
    result: {
      transferred: true,
      chatId: 117,
      target: { anyOperator: true },
      fallbackUsed: true,
      message: { sent: true },
    },
    ledger: [117],
    exit: 0,
  },
  "direct-batch": {
    describe: /direct invocation/,
    result: { succeeded: 2, failed: 0 },
    ledger: [117, 118],
    exit: 0,
  },
  "eventbridge-single": {
    describe: /EventBridge event from com\.example\.crm/,
    result: { succeeded: 1, failed: 0, eventId: "6a7e8feb-b491-4cf7-a9f1-bf3703467718" },
    ledger: [119],
    exit: 0,
  },
  "eventbridge-batch": {
    describe: /EventBridge event from com\.example\.crm/,
    result: { succeeded: 2, failed: 0 },
    ledger: [120, 112],
    exit: 0,
  },
  "schedule-input": {
    describe: /schedule input "end-of-shift"/,
    result: { succeeded: 2, failed: 0, eventId: "890abcde-f123-4567-890a-bcdef1234567" },
    ledger: [113, 114],
    exit: 0,
  },
  "scheduled-event-bare": {
    describe: /does not handle/,
    result: { errorType: "UNSUPPORTED_EVENT" },
    ledger: [],
    exit: 1,
  },
};

function comparable(outcome: Outcome): unknown {
  if (outcome.kind === "threw") return { errorType: outcome.errorType };
  const value = outcome.value as { statusCode?: number; body?: string };
  return value.statusCode === undefined ? value : { ...value, body: JSON.parse(value.body ?? "null") };
}

describe("the sample events in events/", () => {
  let local: LocalEnvironment;
  beforeAll(async () => {
    local = await startLocalEnvironment({ SKIP_BUILD: "true" });
  });
  afterAll(() => local?.close());
  beforeEach(() => local.simulator?.reset());

  it("cover every kind of invocation the function supports, and nothing else", () => {
    expect(listSamples()).toEqual(Object.keys(EXPECTED).sort());
  });

  it("are each described in docs/integrator-tools.md's table, and only they", () => {
    const docs = readFileSync(`${PROJECT_ROOT}/docs/integrator-tools.md`, "utf8");
    const section = docs.slice(docs.indexOf("### The sample events"));
    const rows = [...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((match) => match[1]);
    expect(rows.sort()).toEqual(listSamples());
  });

  it.each(Object.entries(EXPECTED))("%s runs on the bundle as documented", async (name, expected) => {
    const { event } = loadEvent(name);
    expect(describeEvent(event)).toMatch(expected.describe);
    const outcome = await invoke(local.handler, event, 28_000);
    expect(comparable(outcome)).toMatchObject(expected.result as object);
    expect(exitCodeFor(outcome)).toBe(expected.exit);
    expect(local.simulator?.ledger.map((record) => record.chatId)).toEqual(expected.ledger);
  });

  it("keep AWS's real envelopes: only the route, headers, authorizer and body differ", () => {
    const sameKeys = (sample: string, real: Record<string, unknown>) =>
      expect(Object.keys(loadEvent(sample).event as object).sort()).toEqual(Object.keys(real).sort());
    sameKeys("http-api-single", fixture("apigw-http-v2__post-json-body__powertools-docs.json"));
    sameKeys("rest-api-single-base64", fixture("apigw-rest-v1__post-null-body__powertools.json"));
    sameKeys("eventbridge-single", fixture("eventbridge-scheduled-event.json"));
    expect(loadEvent("scheduled-event-bare").event).toEqual(fixture("eventbridge-scheduled-event.json"));
    const rest = loadEvent("rest-api-single-base64").event as { body: string; isBase64Encoded: boolean };
    expect(rest.isBase64Encoded).toBe(true);
    expect(JSON.parse(Buffer.from(rest.body, "base64").toString("utf8"))).toEqual({
      chatId: 115,
      queueId: 4,
    });
  });

  it("an answer of 400 or more is a failure, a 207 is not", () => {
    const http = (statusCode: number): Outcome => ({ kind: "returned", value: { statusCode, body: "{}" } });
    expect([200, 207, 399, 400, 422, 503].map((s) => exitCodeFor(http(s)))).toEqual([0, 0, 0, 1, 1, 1]);
    expect(exitCodeFor({ kind: "threw", errorType: "RATE_LIMITED", errorMessage: "…" })).toBe(1);
  });

  it("gives the function the deployed timeout", async () => {
    const { TRANSFER_TIMEOUT } = await import("../infra/transfer-function-construct.ts");
    expect(DEFAULT_TIMEOUT_SECONDS).toBe(TRANSFER_TIMEOUT.toSeconds());
  });
});

/** `npm run invoke` as a person runs it: a real process, its output and its exit code. */
async function runInvoke(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/invoke.ts", ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, SKIP_BUILD: "true", B24_WEBHOOK_URL: "", POWERTOOLS_LOG_LEVEL: "INFO", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  return { code, output };
}

describe("npm run invoke", () => {
  it("runs a sample by name: prints the answer and the ledger, exits 0", async () => {
    const { code, output } = await runInvoke(["http-api-batch"]);
    expect(code, output).toBe(0);
    expect(output).toContain("result: HTTP 200");
    expect(output).toMatch(/"succeeded": 2/);
    expect(output).toMatch(/^ledger: \{"seq":\d+,"method":"imopenlines.bot.session.transfer","chatId":113,/m);
    expect(output).toMatch(/^ledger: \{"seq":\d+,"method":"imopenlines.bot.session.transfer","chatId":114,/m);
    expect(output).toContain('"outcome":"TRANSFERRED"'); // the function's own log line
    expect(output).not.toContain(DEMO_WEBHOOK.code);
  });

  it("runs an event file and exits 1 when the function answers 400 or more", async () => {
    const { code, output } = await runInvoke(["test/fixtures/events/apigw-request.json"]);
    expect(code, output).toBe(1);
    expect(output).toContain("result: HTTP 404"); // the fixture's path is /hello/world
    expect(output).toContain('"code": "NOT_FOUND"');
    expect(output).toContain("ledger: (no transfer happened)");
  });

  it("exits 1 when the function throws: a bare Scheduled Event is UNSUPPORTED_EVENT", async () => {
    const { code, output } = await runInvoke(["scheduled-event-bare"]);
    expect(code, output).toBe(1);
    expect(output).toContain("result: threw UNSUPPORTED_EVENT");
    expect(output).toContain("rule/SampleRule");
  });

  it("prints an event's failed item as it lands on the failure queue", async () => {
    const event = loadEvent("eventbridge-single").event as Record<string, unknown>;
    const file = join(mkdtempSync(join(tmpdir(), "invoke-")), "rejected.json");
    // Operator 13 is inactive on the demo portal: Bitrix24 refuses the transfer.
    writeFileSync(file, JSON.stringify({ ...event, detail: { chatId: 119, operatorId: 13 } }));
    const { code, output } = await runInvoke(["--timeout", "10", file]);
    expect(code, output).toBe(0); // events do not throw for item failures: the queue keeps them
    expect(output).toMatch(/"failed": 1/);
    expect(output).toMatch(/^failure queue: \{"code":"TRANSFER_REJECTED",/m);
    expect(output).toContain("ledger: (no transfer happened)");
  });

  it("refuses an unknown sample with the list of samples and exit code 2", async () => {
    const { code, output } = await runInvoke(["no-such-sample"]);
    expect(code).toBe(2);
    expect(output).toContain('no event file or sample named "no-such-sample"');
    for (const sample of listSamples()) expect(output).toContain(sample);
  });

  it("uses the portal in B24_WEBHOOK_URL and never prints its webhook code", async () => {
    const sim = await startSimulator();
    const code = "r3alP0rtalW3bh00kC0d3";
    sim.addWebhook({ userId: 1, code, scopes: ["imopenlines", "imbot"] });
    try {
      const webhook = sim.webhookUrl({ userId: 1, code });
      const missing = await runInvoke(["direct-single"], { B24_WEBHOOK_URL: webhook });
      expect(missing.code).toBe(2);
      expect(missing.output).toContain("B24_WEBHOOK_URL needs B24_CLIENT_ID");
      const run = await runInvoke(["direct-single"], {
        B24_WEBHOOK_URL: webhook,
        B24_CLIENT_ID: "b24-transfer-demo",
      });
      // Plain http is accepted on loopback only (another simulator), as npm run doctor accepts it.
      expect(run.code, run.output).toBe(0);
      expect(run.output).toContain(`on the portal at 127.0.0.1:${new URL(webhook).port}`);
      expect(run.output).not.toContain(code);
      expect(sim.ledger).toHaveLength(1);
    } finally {
      await sim.close();
    }
  });
});
