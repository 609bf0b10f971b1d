import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type CallOptions, callMethod } from "../lambda/bitrix24/client.ts";
import { isCredentialsError, TRANSFER_METHOD } from "../lambda/bitrix24/methods.ts";
import { DEMO_BOT, DEMO_WEBHOOK, type Simulator, startSimulator } from "../scripts/simulator/index.ts";
import { failure } from "./support/failure.ts";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ rateLimit: false });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

/** Short delays keep retries fast; the policy's shape is what is under test. */
const options = (overrides: Partial<CallOptions> = {}): CallOptions => ({
  deadline: Date.now() + 5_000,
  attemptTimeoutMs: 2_000,
  retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
  ...overrides,
});

const transfer = (
  params: Record<string, unknown> = { CHAT_ID: 112, USER_ID: 12, LEAVE: "N" },
  overrides?: Partial<CallOptions>,
  base = sim.webhookUrl(),
) => callMethod(base, TRANSFER_METHOD, { CLIENT_ID: DEMO_BOT.clientId, ...params }, options(overrides));

const transferHits = () => sim.hits.filter((hit) => hit.method === TRANSFER_METHOD).length;

describe("Bitrix24 client against the simulator", () => {
  it("returns the result of a performed transfer after one attempt", async () => {
    await expect(transfer()).resolves.toMatchObject({ result: true, attempts: 1, time: expect.any(Object) });
    expect(sim.ledger).toMatchObject([{ chatId: 112, to: { userId: 12 }, leave: false }]);
  });

  it.each([
    ["CHAT_ID_EMPTY", { CHAT_ID: 0, USER_ID: 12 }],
    ["USER_ID_EMPTY", { CHAT_ID: 112, USER_ID: 0 }],
    ["QUEUE_ID_EMPTY", { CHAT_ID: 112, QUEUE_ID: 0 }],
    ["TRANSFER_ID_EMPTY", { CHAT_ID: 112 }],
    ["OPERATOR_WRONG", { CHAT_ID: 112, USER_ID: 13 }],
    ["OPERATOR_WRONG", { CHAT_ID: 99999, USER_ID: 12 }],
  ])("reports %s as TRANSFER_REJECTED, having executed nothing", async (bitrixError, params) => {
    const error = await failure(transfer(params));
    expect(error.code).toBe("TRANSFER_REJECTED");
    expect(error.status).toBe(422);
    expect(error.details.bitrix24?.error).toBe(bitrixError);
    // OPERATOR_WRONG may be the chat's queue lock: tried exactly once more; the others not at all.
    const tries = bitrixError === "OPERATOR_WRONG" ? 2 : 1;
    expect(error.details.attempts).toBe(tries);
    expect(transferHits()).toBe(tries);
    expect(sim.ledger).toHaveLength(0);
  });

  it("gets past a held queue lock with its one extra try", async () => {
    sim.holdLock(112, { times: 1 });
    await expect(transfer()).resolves.toMatchObject({ result: true, attempts: 2 });
    expect(sim.ledger).toHaveLength(1);
  });

  it("reports a CLIENT_ID without a bot as PORTAL_MISCONFIGURED", async () => {
    const error = await failure(transfer({ CHAT_ID: 112, USER_ID: 12, CLIENT_ID: "no-such-bot" }));
    expect([error.code, error.details.bitrix24?.error]).toEqual(["PORTAL_MISCONFIGURED", "BOT_ID_ERROR"]);
  });

  it("reports a webhook call without CLIENT_ID as PORTAL_MISCONFIGURED", async () => {
    const error = await failure(transfer({ CHAT_ID: 112, USER_ID: 12, CLIENT_ID: undefined }));
    expect([error.code, error.details.bitrix24?.error]).toEqual(["PORTAL_MISCONFIGURED", "ACCESS_DENIED"]);
    expect(sim.ledger).toHaveLength(0);
  });

  it("reports a wrong webhook code as a credentials error", async () => {
    const error = await failure(
      transfer(undefined, undefined, sim.webhookUrl({ userId: 1, code: "wrongcode" })),
    );
    expect(error.code).toBe("PORTAL_MISCONFIGURED");
    expect(isCredentialsError(error)).toBe(true);
    expect(error.details.attempts).toBe(1);
  });

  it("reports a webhook without the imopenlines scope", async () => {
    sim.addWebhook({ userId: 1, code: "narrowscope", scopes: ["im"] });
    const error = await failure(
      transfer(undefined, undefined, sim.webhookUrl({ userId: 1, code: "narrowscope" })),
    );
    expect([error.code, error.details.bitrix24?.error]).toEqual([
      "PORTAL_MISCONFIGURED",
      "insufficient_scope",
    ]);
    expect(isCredentialsError(error)).toBe(false);
  });

  it("retries QUERY_LIMIT_EXCEEDED (refused before running) and succeeds when it passes", async () => {
    sim.injectFault({ kind: "error", status: 503, error: "QUERY_LIMIT_EXCEEDED" }, { times: 2 });
    await expect(transfer()).resolves.toMatchObject({ result: true, attempts: 3 });
    expect(sim.ledger).toHaveLength(1);
  });

  it.each([
    ["INTERNAL_SERVER_ERROR", 500],
    ["ERROR_UNEXPECTED_ANSWER", 500],
    ["ERROR_CORE", 500],
    ["ERROR_CORE", 400],
  ])("never re-sends after %s (HTTP %i): the call may have run", async (code, status) => {
    for (const executes of [false, true]) {
      sim.reset();
      sim.injectFault({ kind: "error", status, error: code }, { times: Infinity, executes });
      const error = await failure(transfer());
      expect([error.code, error.status, error.details.attempts]).toEqual(["OUTCOME_UNKNOWN", 502, 1]);
      expect(transferHits()).toBe(1);
      expect(sim.ledger).toHaveLength(executes ? 1 : 0);
    }
  });

  it("gives up on a lasting QUERY_LIMIT_EXCEEDED with RATE_LIMITED and a Retry-After", async () => {
    sim.injectFault({ kind: "error", status: 503, error: "QUERY_LIMIT_EXCEEDED" }, { times: Infinity });
    const error = await failure(transfer());
    expect([error.code, error.status, error.details.retryAfter, error.details.attempts]).toEqual([
      "RATE_LIMITED",
      503,
      1,
      4,
    ]);
    expect(sim.ledger).toHaveLength(0);
  });

  it("fails fast on OPERATION_TIME_LIMIT with a long Retry-After", async () => {
    sim.injectFault({ kind: "error", status: 429, error: "OPERATION_TIME_LIMIT" }, { times: Infinity });
    const error = await failure(transfer());
    expect([error.code, error.details.retryAfter, error.details.attempts]).toEqual(["RATE_LIMITED", 600, 1]);
  });

  it.each([
    ["OVERLOAD_LIMIT", 503, "RATE_LIMITED"],
    ["PORTAL_DELETED", 500, "PORTAL_MISCONFIGURED"],
    ["ACCESS_DENIED", 403, "PORTAL_MISCONFIGURED"],
    ["WRONG_AUTH_TYPE", 403, "PORTAL_MISCONFIGURED"],
    ["user_access_error", 403, "PORTAL_MISCONFIGURED"],
    ["ERROR_METHOD_NOT_FOUND", 404, "PORTAL_MISCONFIGURED"],
    ["SOMETHING_NEW", 400, "UPSTREAM_ERROR"],
  ])("does not retry %s (→ %s)", async (bitrixError, status, code) => {
    sim.injectFault({ kind: "error", status, error: bitrixError }, { times: Infinity });
    const error = await failure(transfer());
    expect([error.code, error.details.attempts, error.details.bitrix24?.error]).toEqual([
      code,
      1,
      bitrixError,
    ]);
  });

  it("never re-sends after an unknown error code on a 5xx", async () => {
    sim.injectFault({ kind: "error", status: 502, error: "SOMETHING_NEW" }, { times: Infinity });
    const error = await failure(transfer());
    expect([error.code, error.details.attempts]).toEqual(["OUTCOME_UNKNOWN", 1]);
  });

  it("never re-sends after a reset once the request was sent, though the transfer ran", async () => {
    sim.injectFault({ kind: "reset" }, { executes: true });
    const error = await failure(transfer());
    expect([error.code, error.details.attempts]).toEqual(["OUTCOME_UNKNOWN", 1]);
    expect(sim.ledger).toHaveLength(1);
  });

  it("never re-sends after a timeout once the request was sent", async () => {
    sim.injectFault({ kind: "hang" }, { executes: true });
    const error = await failure(transfer(undefined, { attemptTimeoutMs: 200 }));
    expect([error.code, error.details.attempts]).toEqual(["OUTCOME_UNKNOWN", 1]);
    expect(error.details.detail).toContain("after the request was sent");
    expect(sim.ledger).toHaveLength(1);
  });

  it("stays within the deadline when Bitrix24 never answers", async () => {
    sim.injectFault({ kind: "hang" }, { times: Infinity });
    const started = Date.now();
    const deadline = started + 1_000;
    const error = await failure(transfer(undefined, { deadline, attemptTimeoutMs: 400 }));
    expect(error.code).toBe("OUTCOME_UNKNOWN");
    // The deadline is a correctness bound (the Lambda must answer before it is killed), not a benchmark.
    expect(Date.now()).toBeLessThanOrEqual(deadline + 100);
  });

  it("does not start a call when no time is left", async () => {
    const error = await failure(transfer(undefined, { deadline: Date.now() + 50 }));
    expect([error.code, error.details.attempts]).toEqual(["UPSTREAM_TIMEOUT", 0]);
    expect(sim.hits).toHaveLength(0);
  });

  it.each([
    ["an HTML proxy page", { kind: "html" as const, status: 502 }],
    ["a malformed 200", { kind: "malformed" as const }],
    ["an empty 200", { kind: "empty" as const }],
  ])("never re-sends after %s: its outcome is unknown", async (_name, fault) => {
    for (const executes of [false, true]) {
      sim.reset();
      sim.injectFault(fault, { executes });
      const error = await failure(transfer());
      expect([error.code, error.details.attempts]).toEqual(["OUTCOME_UNKNOWN", 1]);
      expect(error.details.detail).toContain("outcome is unknown");
      expect(transferHits()).toBe(1);
      expect(sim.ledger).toHaveLength(executes ? 1 : 0);
    }
  });

  it("returns result false as it is, for the domain to refuse", async () => {
    sim.injectFault({ kind: "result-false" });
    await expect(transfer()).resolves.toMatchObject({ result: false, attempts: 1 });
  });

  it("tolerates latency within the attempt timeout", async () => {
    sim.injectFault({ kind: "latency", ms: 100 });
    await expect(transfer()).resolves.toMatchObject({ result: true, attempts: 1 });
  });

  it("follows a renamed portal's 302 once, to the same path on the new address", async () => {
    const oldBase = sim.webhookUrl();
    const newUrl = await sim.movePortal();
    const moves: string[] = [];
    await expect(
      transfer(undefined, { allowHttpLoopback: true, onMoved: (base) => moves.push(base) }, oldBase),
    ).resolves.toMatchObject({
      result: true,
      attempts: 1,
    });
    expect(moves).toEqual([`${newUrl}${new URL(oldBase).pathname}`]);
    expect(sim.ledger).toHaveLength(1);
  });

  it("refuses a 302 to plain http unless loopback http is allowed, sending nothing there", async () => {
    const oldBase = sim.webhookUrl();
    await sim.movePortal();
    const error = await failure(transfer(undefined, {}, oldBase));
    expect(error.code).toBe("PORTAL_MISCONFIGURED");
    expect(sim.ledger).toHaveLength(0);
  });

  it("never puts the webhook code into an error", async () => {
    const faults = [
      { kind: "reset" as const },
      { kind: "html" as const },
      { kind: "malformed" as const },
      { kind: "error" as const, status: 401, error: "INVALID_CREDENTIALS" },
    ];
    for (const fault of faults) {
      sim.injectFault(fault, { times: Infinity });
      const error = await failure(transfer());
      const text = JSON.stringify({ message: error.message, stack: error.stack, details: error.details });
      expect(text).not.toContain(DEMO_WEBHOOK.code);
      sim.clearFaults();
    }
    const refused = await failure(
      callMethod("http://127.0.0.1:1/rest/1/s3cretcode/", TRANSFER_METHOD, {}, options()),
    );
    expect(JSON.stringify({ message: refused.message, details: refused.details })).not.toContain(
      "s3cretcode",
    );
  });
});
