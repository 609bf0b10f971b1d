import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { DEMO_BOT, type Fault } from "../scripts/simulator/index.ts";
import { httpApiEvent } from "./support/events.ts";
import { type Harness, MAIN_SECRET, useBundleHarness } from "./support/harness.ts";

/**
 * The fault matrix of docs/reliability.md: for each fault, the status and code the caller gets, that
 * the answer comes within the Lambda's deadline, and — through the simulator's ledger — that what we
 * report is what happened on the portal.
 */
const h = useBundleHarness();
const TIMEOUT_MS = 6_000; // the Lambda's remaining time in these runs; the deadline keeps 1 s back

interface Row {
  fault: string;
  arrange: (h: Harness) => void | Promise<void>;
  status: number;
  code: string;
  /** Whether the transfer really happened (the ledger): a 200 means it did; OUTCOME_UNKNOWN says it may have. */
  transferred: boolean;
  retryAfter?: string;
}

// The faults hit the transfer; the guard's read before it is a call of its own (test/chat-guard-flow.test.ts).
const TRANSFER = "imopenlines.bot.session.transfer";
const always = (fault: Fault) => (x: Harness) =>
  x.sim.injectFault(fault, { method: TRANSFER, times: Infinity });
const once =
  (fault: Fault, times = 1) =>
  (x: Harness) =>
    x.sim.injectFault(fault, { method: TRANSFER, times });

const rows: Row[] = [
  {
    fault: "503 QUERY_LIMIT_EXCEEDED burst that passes",
    arrange: once({ kind: "error", status: 503, error: "QUERY_LIMIT_EXCEEDED" }, 2),
    status: 200,
    code: "TRANSFERRED",
    transferred: true,
  },
  {
    fault: "503 QUERY_LIMIT_EXCEEDED that lasts",
    arrange: always({ kind: "error", status: 503, error: "QUERY_LIMIT_EXCEEDED" }),
    status: 503,
    code: "RATE_LIMITED",
    transferred: false,
    retryAfter: "1",
  },
  {
    fault: "429 OPERATION_TIME_LIMIT",
    arrange: always({ kind: "error", status: 429, error: "OPERATION_TIME_LIMIT" }),
    status: 503,
    code: "RATE_LIMITED",
    transferred: false,
    retryAfter: "600",
  },
  {
    // The read then shows operator 12 not made the owner: it did not run, so it is sent once more.
    fault: "500 INTERNAL_SERVER_ERROR that ran nothing",
    arrange: once({ kind: "error", status: 500, error: "INTERNAL_SERVER_ERROR" }),
    status: 200,
    code: "TRANSFERRED",
    transferred: true,
  },
  {
    fault: "500 INTERNAL_SERVER_ERROR every time",
    arrange: always({ kind: "error", status: 500, error: "INTERNAL_SERVER_ERROR" }),
    status: 502,
    code: "OUTCOME_UNKNOWN",
    transferred: false,
  },
  {
    // The read then shows operator 12 as the owner: done, with evidence.
    fault: "500 ERROR_UNEXPECTED_ANSWER after the transfer ran",
    arrange: (x) =>
      x.sim.injectFault(
        { kind: "error", status: 500, error: "ERROR_UNEXPECTED_ANSWER" },
        { method: TRANSFER, executes: true },
      ),
    status: 200,
    code: "TRANSFERRED",
    transferred: true,
  },
  {
    fault: "connection reset after the transfer ran",
    arrange: (x) => x.sim.injectFault({ kind: "reset" }, { method: TRANSFER, executes: true }),
    status: 200,
    code: "TRANSFERRED",
    transferred: true,
  },
  {
    fault: "hang past the deadline",
    arrange: always({ kind: "hang" }),
    status: 502,
    code: "OUTCOME_UNKNOWN",
    transferred: false,
  },
  {
    fault: "malformed JSON with 200, after running",
    arrange: (x) => x.sim.injectFault({ kind: "malformed" }, { method: TRANSFER, executes: true }),
    status: 200,
    code: "TRANSFERRED",
    transferred: true,
  },
  {
    fault: "HTML error page (proxy 502)",
    arrange: once({ kind: "html", status: 502 }),
    status: 200,
    code: "TRANSFERRED",
    transferred: true,
  },
  {
    fault: "empty 200",
    arrange: once({ kind: "empty" }),
    status: 200,
    code: "TRANSFERRED",
    transferred: true,
  },
  {
    fault: "result: false",
    arrange: once({ kind: "result-false" }),
    status: 200,
    code: "TRANSFERRED",
    transferred: true,
  },
  {
    fault: "the guard's read rate-limited, then fine",
    arrange: (x) =>
      x.sim.injectFault(
        { kind: "error", status: 503, error: "QUERY_LIMIT_EXCEEDED" },
        { method: "imopenlines.dialog.get", times: 2 },
      ),
    status: 200,
    code: "TRANSFERRED",
    transferred: true,
  },
  {
    fault: "the guard's read failing (a proxy page every time)",
    arrange: (x) =>
      x.sim.injectFault({ kind: "html", status: 502 }, { method: "imopenlines.dialog.get", times: Infinity }),
    status: 502,
    code: "UPSTREAM_ERROR",
    transferred: false,
  },
  {
    fault: "the chat's queue lock, once",
    arrange: (x) => x.sim.holdLock(112, { times: 1 }),
    status: 200,
    code: "TRANSFERRED",
    transferred: true,
  },
  {
    fault: "a renamed portal (302)",
    arrange: async (x) => {
      await x.sim.movePortal();
    },
    status: 200,
    code: "TRANSFERRED",
    transferred: true,
  },
  {
    fault: "Secrets Manager throttled",
    arrange: (x) => x.secrets.failNext("ThrottlingException", 10),
    status: 503,
    code: "CREDENTIALS_UNAVAILABLE",
    transferred: false,
    retryAfter: "2",
  },
  {
    fault: "Secrets Manager unavailable",
    arrange: (x) => x.secrets.failNext("InternalServiceError", 10, 500),
    status: 503,
    code: "CREDENTIALS_UNAVAILABLE",
    transferred: false,
    retryAfter: "2",
  },
  {
    fault: "malformed secret",
    arrange: (x) => x.secrets.put(MAIN_SECRET, '{"webhookUrl": 42}'),
    status: 502,
    code: "PORTAL_MISCONFIGURED",
    transferred: false,
  },
  {
    fault: "webhook revoked",
    arrange: (x) => {
      x.sim.addWebhook({ userId: 1, code: "revokedsoon", scopes: ["imopenlines", "imbot"] });
      x.sim.revokeWebhook("revokedsoon");
      x.secrets.put(
        MAIN_SECRET,
        JSON.stringify({
          webhookUrl: x.sim.webhookUrl({ userId: 1, code: "revokedsoon" }),
          clientId: DEMO_BOT.clientId,
        }),
      );
    },
    status: 502,
    code: "PORTAL_MISCONFIGURED",
    transferred: false,
  },
];

async function invoke(handler = h.newHandler()) {
  const started = Date.now();
  const result = (await handler(
    httpApiEvent({ body: JSON.stringify({ chatId: 112, operatorId: 12 }) }),
    lambdaContext(TIMEOUT_MS),
  )) as APIGatewayProxyStructuredResultV2;
  const body = JSON.parse(result.body ?? "null");
  return {
    status: result.statusCode,
    code: body.code ?? (body.transferred ? "TRANSFERRED" : "?"),
    headers: result.headers ?? {},
    ms: Date.now() - started,
  };
}

describe("fault matrix", () => {
  it.each(rows)("$fault → $status $code", async (row) => {
    await row.arrange(h);
    const outcome = await invoke();
    expect([outcome.status, outcome.code]).toEqual([row.status, row.code]);
    // A correctness bound, not a benchmark: the answer must come before Lambda would kill the function.
    expect(outcome.ms).toBeLessThan(TIMEOUT_MS);
    expect(h.sim.ledger.length).toBe(row.transferred ? 1 : 0);
    if (outcome.status === 200) expect(row.transferred).toBe(true);
    if (row.transferred && outcome.status !== 200) expect(outcome.code).toBe("OUTCOME_UNKNOWN");
    if (row.retryAfter) expect(outcome.headers["retry-after"]).toBe(row.retryAfter);
  });

  it("recovers when a revoked webhook is rotated in Secrets Manager, without a redeploy", async () => {
    h.sim.addWebhook({ userId: 1, code: "oldwebhook", scopes: ["imopenlines", "imbot"] });
    h.secrets.put(
      MAIN_SECRET,
      JSON.stringify({
        webhookUrl: h.sim.webhookUrl({ userId: 1, code: "oldwebhook" }),
        clientId: DEMO_BOT.clientId,
      }),
    );
    const handler = h.newHandler();
    expect((await invoke(handler)).status).toBe(200);

    h.sim.revokeWebhook("oldwebhook");
    h.sim.addWebhook({ userId: 1, code: "newwebhook", scopes: ["imopenlines", "imbot"] });
    h.secrets.put(
      MAIN_SECRET,
      JSON.stringify({
        webhookUrl: h.sim.webhookUrl({ userId: 1, code: "newwebhook" }),
        clientId: DEMO_BOT.clientId,
      }),
    );
    h.sim.reset();
    // The cached (revoked) webhook fails once; the function re-reads the secret and succeeds.
    const outcome = await invoke(handler);
    expect([outcome.status, outcome.code]).toEqual([200, "TRANSFERRED"]);
    expect(h.sim.ledger).toHaveLength(1);
  });
});
