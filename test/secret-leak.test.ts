import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { DEMO_BOT, DEMO_WEBHOOK } from "../scripts/simulator/index.ts";
import { httpApiEvent } from "./support/events.ts";
import { MAIN_SECRET, useBundleHarness } from "./support/harness.ts";

// Log everything, so a leak at any level would show.
const h = useBundleHarness({ POWERTOOLS_LOG_LEVEL: "DEBUG", POWERTOOLS_METRICS_DISABLED: "false" });
const ROTATED_CODE = "r0tat3dW3bh00kC0d3";
const REVOKED_CODE = "r3v0k3dW3bh00kC0d3";
const SECRETS = [DEMO_WEBHOOK.code, ROTATED_CODE, REVOKED_CODE];

let output: string[];
beforeEach(() => {
  output = [];
  const capture = (chunk: unknown) => {
    output.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
});
afterEach(() => vi.restoreAllMocks());

const body = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ chatId: 112, operatorId: 12, ...extra });

/** Each path runs on a fresh handler; returns what the caller saw. */
const paths: [string, () => void, unknown][] = [
  ["success", () => {}, httpApiEvent({ body: body() })],
  ["invalid JSON", () => {}, httpApiEvent({ body: `{"chatId": "${DEMO_WEBHOOK.code}"` })],
  ["rejected transfer", () => {}, httpApiEvent({ body: body({ operatorId: 13 }) })],
  [
    "revoked webhook",
    () => {
      h.sim.addWebhook({ userId: 1, code: REVOKED_CODE, scopes: ["imopenlines", "imbot"] });
      h.sim.revokeWebhook(REVOKED_CODE);
      h.secrets.put(
        MAIN_SECRET,
        JSON.stringify({
          webhookUrl: h.sim.webhookUrl({ userId: 1, code: REVOKED_CODE }),
          clientId: DEMO_BOT.clientId,
        }),
      );
    },
    httpApiEvent({ body: body() }),
  ],
  [
    "rotated webhook",
    () => {
      h.sim.addWebhook({ userId: 1, code: ROTATED_CODE, scopes: ["imopenlines", "imbot"] });
      h.secrets.put(
        MAIN_SECRET,
        JSON.stringify({
          webhookUrl: h.sim.webhookUrl({ userId: 1, code: ROTATED_CODE }),
          clientId: DEMO_BOT.clientId,
        }),
      );
    },
    httpApiEvent({ body: body({ chatId: 113 }) }),
  ],
  [
    "malformed secret",
    () =>
      h.secrets.put(
        MAIN_SECRET,
        JSON.stringify({ webhookUrl: `ftp://x/rest/1/${DEMO_WEBHOOK.code}/`, botId: DEMO_WEBHOOK.code }),
      ),
    httpApiEvent({ body: body() }),
  ],
  [
    "secret not JSON",
    () => h.secrets.put(MAIN_SECRET, `https://x/rest/1/${DEMO_WEBHOOK.code}/`),
    httpApiEvent({ body: body() }),
  ],
  [
    "HTML page",
    () => h.sim.injectFault({ kind: "html" }, { times: Infinity }),
    httpApiEvent({ body: body() }),
  ],
  [
    "connection reset",
    () => h.sim.injectFault({ kind: "reset" }, { times: Infinity }),
    httpApiEvent({ body: body() }),
  ],
  ["malformed answer", () => h.sim.injectFault({ kind: "malformed" }), httpApiEvent({ body: body() })],
  ["result false", () => h.sim.injectFault({ kind: "result-false" }), httpApiEvent({ body: body() })],
  [
    "rate limit",
    () => h.sim.injectFault({ kind: "error", status: 429, error: "OPERATION_TIME_LIMIT" }),
    httpApiEvent({ body: body() }),
  ],
  [
    "direct invocation failure",
    () => h.sim.injectFault({ kind: "html" }, { times: Infinity }),
    { chatId: 112, operatorId: 12 },
  ],
];

describe("secrets never leak", () => {
  it.each(paths)("keeps webhook codes out of logs and responses: %s", async (_name, arrange, event) => {
    arrange();
    let response: unknown;
    try {
      response = await h.newHandler()(event, lambdaContext(28_000));
    } catch (error) {
      response = {
        name: (error as Error).name,
        message: (error as Error).message,
        stack: (error as Error).stack,
        ...(error as object),
      };
    }
    const seen = JSON.stringify(response) + output.join("");
    expect(output.length).toBeGreaterThan(0);
    for (const secret of SECRETS) expect(seen).not.toContain(secret);
  });

  it("writes one JSON line per invocation with what operators need", async () => {
    await h.newHandler()(httpApiEvent({ body: body(), client: "crm" }), lambdaContext(28_000));
    const all = output
      .join("")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    // Besides the log line, only CloudWatch EMF metric documents (which carry _aws).
    const lines = all.filter((line) => !("_aws" in line));
    expect(lines).toHaveLength(1);
    expect(all.length - lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatchObject({
      level: "INFO",
      message: "transfer",
      requestId: "ZhNHJhhLjoEEPiw=",
      client: "crm",
      portal: "main",
      chatId: 112,
      target: { operatorId: 12 },
      outcome: "TRANSFERRED",
      attempts: 1,
    });
    expect(typeof lines[0].durationMs).toBe("number");
  });
});
