import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import type { Fault } from "../scripts/simulator/index.ts";
import { httpApiEvent } from "./support/events.ts";
import { useBundleHarness } from "./support/harness.ts";

/**
 * A transfer is executed at most once, whatever goes wrong: each fault, before and after Bitrix24 ran the
 * call, through the deployable bundle, counted in the simulator's ledger of EXECUTED transfers (not of
 * requests), for a single call and for a batch; and the caller is told what happened.
 */
const h = useBundleHarness();
const LAMBDA_MS = 6_000;
const FOREVER = Number.POSITIVE_INFINITY;

async function post(body: unknown, handler = h.newHandler()) {
  const result = (await handler(
    httpApiEvent({ body: JSON.stringify(body) }),
    lambdaContext(LAMBDA_MS),
  )) as APIGatewayProxyStructuredResultV2;
  return { status: result.statusCode, body: JSON.parse(result.body ?? "null") };
}

/** Faults after which the call may have run: never sent again, OUTCOME_UNKNOWN. */
const MAY_HAVE_RUN: [string, Fault][] = [
  ["500 INTERNAL_SERVER_ERROR", { kind: "error", status: 500, error: "INTERNAL_SERVER_ERROR" }],
  ["500 ERROR_UNEXPECTED_ANSWER", { kind: "error", status: 500, error: "ERROR_UNEXPECTED_ANSWER" }],
  ["500 ERROR_CORE", { kind: "error", status: 500, error: "ERROR_CORE" }],
  ["400 ERROR_CORE", { kind: "error", status: 400, error: "ERROR_CORE" }],
  ["502 proxy page", { kind: "html", status: 502 }],
  ["503 proxy page", { kind: "html", status: 503 }],
  ["504 proxy page", { kind: "html", status: 504 }],
  ["reset after sending", { kind: "reset" }],
  ["no answer (timeout) after sending", { kind: "hang" }],
  ["unreadable 200", { kind: "malformed" }],
  ["empty 200", { kind: "empty" }],
  ["result false", { kind: "result-false" }],
];
const UNKNOWN_CASES = MAY_HAVE_RUN.flatMap(([name, fault]) =>
  [false, true].map((executes) => ({
    name: `${name}, ${executes ? "after" : "before"} running`,
    fault,
    executes,
  })),
);

const executions = (chatId: number) => h.sim.ledger.filter((record) => record.chatId === chatId).length;
const codeOf = (body: { code?: string; transferred?: boolean }) =>
  body.code ?? (body.transferred ? "TRANSFERRED" : "?");

describe("a single transfer is executed at most once", () => {
  it.each(UNKNOWN_CASES)("$name → 502 OUTCOME_UNKNOWN, never re-sent", async ({ fault, executes }) => {
    h.sim.injectFault(fault, { method: "imopenlines.bot.session.transfer", times: FOREVER, executes });
    const { status, body } = await post({ chatId: 112, queueId: 3 });
    expect([status, body.code]).toEqual([502, "OUTCOME_UNKNOWN"]);
    expect(body.detail).toContain("Read the chat (GET /transfers/chats/{chatId})");
    expect(h.sim.hits.filter((hit) => hit.method === "imopenlines.bot.session.transfer")).toHaveLength(1);
    expect(executions(112)).toBe(executes ? 1 : 0);
  });

  it.each([
    {
      name: "503 QUERY_LIMIT_EXCEEDED twice (refused before running): retried",
      arrange: () =>
        h.sim.injectFault({ kind: "error", status: 503, error: "QUERY_LIMIT_EXCEEDED" }, { times: 2 }),
      answer: [200, "TRANSFERRED"],
      executed: 1,
    },
    {
      name: "429 OPERATION_TIME_LIMIT: not retried now",
      arrange: () =>
        h.sim.injectFault({ kind: "error", status: 429, error: "OPERATION_TIME_LIMIT" }, { times: FOREVER }),
      answer: [503, "RATE_LIMITED"],
      executed: 0,
    },
    {
      name: "the chat's queue lock, once: one more try",
      arrange: () => h.sim.holdLock(112, { times: 1 }),
      answer: [200, "TRANSFERRED"],
      executed: 1,
    },
    {
      name: "the chat's queue lock, held on: refused after one more try",
      arrange: () => h.sim.holdLock(112, { times: 10 }),
      answer: [422, "TRANSFER_REJECTED"],
      executed: 0,
    },
    {
      name: "a renamed portal (302 to its new address): followed",
      arrange: () => h.sim.movePortal(),
      answer: [200, "TRANSFERRED"],
      executed: 1,
    },
  ])("$name", async ({ arrange, answer, executed }) => {
    await arrange();
    const { status, body } = await post({ chatId: 112, queueId: 3 });
    expect([status, codeOf(body)]).toEqual(answer);
    expect(executions(112)).toBe(executed);
  });
});

describe("a batch's transfers are each executed at most once", () => {
  const chats = [112, 113, 114];
  // The guard's reads are a batch call of their own; these cases are about the transfers' batch call.
  const batch = (guard = false) =>
    post({ transfers: chats.map((chatId) => ({ chatId, queueId: 3, ...(guard ? {} : { guard }) })) });

  it.each(UNKNOWN_CASES)(
    "$name on the batch call → OUTCOME_UNKNOWN, never re-sent",
    async ({ fault, executes }) => {
      h.sim.injectFault(fault, { method: "batch", times: FOREVER, executes });
      const { status, body } = await batch();
      expect([status, body.code]).toEqual([502, "OUTCOME_UNKNOWN"]);
      expect(h.sim.hits.filter((hit) => hit.method === "batch")).toHaveLength(1);
      expect(chats.map(executions)).toEqual(chats.map(() => (executes ? 1 : 0)));
    },
  );

  it.each(UNKNOWN_CASES)(
    "guarded: $name on every batch call after the guard's read → OUTCOME_UNKNOWN, never re-sent",
    async ({ fault, executes }) => {
      // The guard's read passes; the transfers' call and every read after it meet the fault.
      h.sim.injectFault({ kind: "latency", ms: 0 }, { method: "batch" });
      h.sim.injectFault(fault, { method: "batch", times: FOREVER, executes });
      const { status, body } = await batch(true);
      expect([status, body.code]).toEqual([502, "OUTCOME_UNKNOWN"]);
      expect(chats.map(executions)).toEqual(chats.map(() => (executes ? 1 : 0)));
    },
  );

  it("retries a rate-limited batch call, which ran nothing", async () => {
    h.sim.injectFault(
      { kind: "error", status: 503, error: "QUERY_LIMIT_EXCEEDED" },
      { method: "batch", times: 2 },
    );
    const { status, body } = await batch();
    expect([status, body.succeeded]).toEqual([200, 3]);
    expect(chats.map(executions)).toEqual([1, 1, 1]);
  });

  it("re-sends only the command the lock refused, once, and never the others", async () => {
    h.sim.holdLock(113, { times: 1 });
    const { status, body } = await batch();
    expect([status, body.succeeded]).toEqual([200, 3]);
    expect(chats.map(executions)).toEqual([1, 1, 1]);
  });

  it("answers 207 for the chat whose lock stays, having run the others once", async () => {
    h.sim.holdLock(113, { times: 10 });
    const { status, body } = await batch();
    expect(status).toBe(207);
    expect(body.results[1]).toMatchObject({ transferred: false, problem: { code: "TRANSFER_REJECTED" } });
    expect(chats.map(executions)).toEqual([1, 0, 1]);
  });

  it("follows a renamed portal", async () => {
    await h.sim.movePortal();
    const { status } = await batch();
    expect(status).toBe(200);
    expect(chats.map(executions)).toEqual([1, 1, 1]);
  });
});

describe("a renamed portal", () => {
  it("is remembered by the container: later calls go to the new address without a redirect", async () => {
    await h.sim.movePortal();
    const handler = h.newHandler();
    await post({ chatId: 112, operatorId: 12 }, handler);
    await post({ chatId: 113, operatorId: 12 }, handler);
    expect(h.sim.ledger.map((record) => record.chatId)).toEqual([112, 113]);
    // The first call met the 302 (not a hit: the old address only redirects); both ran at the new one.
    expect(h.sim.hits.filter((hit) => hit.method === "imopenlines.bot.session.transfer")).toHaveLength(2);
  });
});
