import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { callMethod } from "../lambda/bitrix24/client.ts";
import { failure } from "./support/failure.ts";
import { type Answer, json, scriptedServers } from "./support/scripted-servers.ts";

/**
 * The client's at-most-once rule, against scripted raw HTTP servers on loopback: each case counts the
 * requests that reached the server. (test/at-most-once.test.ts proves the same on the simulator's ledger.)
 */
const { received, scripts, start, sentTimes: sentTo, close } = scriptedServers();

let oldBase: string;
let newBase: string;
beforeAll(async () => {
  oldBase = await start("old");
  newBase = await start("new");
  scripts.new = (res) => json(res, 200, { result: true });
});
afterAll(close);
beforeEach(() => {
  received.length = 0;
});

const restBase = () => `${oldBase}/rest/1/secretcode/`;
const call = (options: { idempotent?: boolean; attemptTimeoutMs?: number } = {}) =>
  callMethod(
    restBase(),
    "imopenlines.bot.session.transfer",
    { CHAT_ID: 112 },
    {
      deadline: Date.now() + 8_000,
      attemptTimeoutMs: options.attemptTimeoutMs ?? 2_000,
      retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 },
      allowHttpLoopback: true,
      ...(options.idempotent ? { idempotent: true } : {}),
    },
  );
const sentTimes = (server = "old") => sentTo(server);

describe("a call that may have run is sent once and reported as OUTCOME_UNKNOWN", () => {
  const mayHaveRun: [string, Answer][] = [
    ["500 INTERNAL_SERVER_ERROR", (res) => json(res, 500, { error: "INTERNAL_SERVER_ERROR" })],
    ["500 ERROR_CORE", (res) => json(res, 500, { error: "ERROR_CORE", error_description: "x" })],
    ["400 ERROR_CORE", (res) => json(res, 400, { error: "ERROR_CORE" })],
    ["500 ERROR_UNEXPECTED_ANSWER", (res) => json(res, 500, { error: "ERROR_UNEXPECTED_ANSWER" })],
    ["502 proxy page", (res) => res.writeHead(502, { "content-type": "text/html" }).end("<h1>502</h1>")],
    ["503 proxy page", (res) => res.writeHead(503, { "content-type": "text/html" }).end("<h1>503</h1>")],
    ["504 empty", (res) => res.writeHead(504).end()],
    ["a 5xx with an unknown code", (res) => json(res, 503, { error: "SOMETHING_NEW" })],
    ["200 unreadable", (res) => res.writeHead(200).end('{"result": tr')],
    ["200 empty", (res) => res.writeHead(200).end()],
    ["reset after the request was read", (_res, req) => req.socket.destroy()],
  ];
  it.each(mayHaveRun)("%s", async (_name, answer) => {
    scripts.old = answer;
    const error = await failure(call());
    expect(error.code).toBe("OUTCOME_UNKNOWN");
    expect(error.status).toBe(502);
    expect(error.details.detail).toContain("Read the chat (GET /transfers/chats/{chatId})");
    expect(sentTimes()).toBe(1);
  });

  it("a timeout after the request was sent", async () => {
    scripts.old = () => {}; // reads the request, never answers
    const error = await failure(call({ attemptTimeoutMs: 300 }));
    expect(error.code).toBe("OUTCOME_UNKNOWN");
    expect(error.details.detail).toContain("did not answer within 300 ms after the request was sent");
    expect(sentTimes()).toBe(1);
  });
});

describe("a call Bitrix24 refused before running it may be sent again", () => {
  it("QUERY_LIMIT_EXCEEDED is retried with backoff", async () => {
    let n = 0;
    scripts.old = (res) =>
      n++ < 2 ? json(res, 503, { error: "QUERY_LIMIT_EXCEEDED" }) : json(res, 200, { result: true });
    await expect(call()).resolves.toMatchObject({ result: true, attempts: 3 });
    expect(sentTimes()).toBe(3);
  });

  it("OPERATOR_WRONG (perhaps the chat's queue lock) is tried exactly once more", async () => {
    scripts.old = (res) => json(res, 400, { error: "OPERATOR_WRONG", error_description: "You can not…" });
    const error = await failure(call());
    expect(error.code).toBe("TRANSFER_REJECTED");
    expect(sentTimes()).toBe(2);

    let n = 0;
    scripts.old = (res) =>
      n++ === 0 ? json(res, 400, { error: "OPERATOR_WRONG" }) : json(res, 200, { result: true });
    received.length = 0;
    await expect(call()).resolves.toMatchObject({ result: true, attempts: 2 });
  });

  it("OPERATION_TIME_LIMIT and method refusals are not retried", async () => {
    for (const [status, code, problem] of [
      [429, "OPERATION_TIME_LIMIT", "RATE_LIMITED"],
      [400, "USER_ID_EMPTY", "TRANSFER_REJECTED"],
      [403, "ACCESS_DENIED", "PORTAL_MISCONFIGURED"],
      [400, "BOT_ID_ERROR", "PORTAL_MISCONFIGURED"],
    ] as const) {
      scripts.old = (res) => json(res, status, { error: code });
      received.length = 0;
      expect((await failure(call())).code).toBe(problem);
      expect(sentTimes()).toBe(1);
    }
  });

  it("a connection that was never made is retried and is not an unknown outcome", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(
      callMethod(
        `http://127.0.0.1:${port}/rest/1/secretcode/`,
        "imopenlines.bot.session.transfer",
        {},
        {
          deadline: Date.now() + 5_000,
          attemptTimeoutMs: 1_000,
          retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
          allowHttpLoopback: true,
        },
      ),
    );
    expect(error.code).toBe("UPSTREAM_ERROR");
    expect(error.details.detail).toContain("ECONNREFUSED");
    expect(error.details.attempts).toBe(3);
  });

  it("a read-only (idempotent) call is retried after an unknown outcome", async () => {
    let n = 0;
    scripts.old = (res) =>
      n++ === 0 ? res.writeHead(502).end("<html>") : json(res, 200, { result: ["imopenlines"] });
    await expect(call({ idempotent: true })).resolves.toMatchObject({ attempts: 2 });
  });
});

describe("a renamed portal (302 to its new address)", () => {
  it("is followed once to the same REST path on the new host, and the body is re-sent there", async () => {
    scripts.old = (res, req) => res.writeHead(302, { location: `${newBase}${req.url}` }).end();
    const moves: string[] = [];
    const outcome = await callMethod(
      restBase(),
      "imopenlines.bot.session.transfer",
      { CHAT_ID: 112 },
      {
        deadline: Date.now() + 5_000,
        attemptTimeoutMs: 2_000,
        allowHttpLoopback: true,
        onMoved: (base) => moves.push(base),
      },
    );
    expect(outcome.result).toBe(true);
    expect(received.map((entry) => entry.server)).toEqual(["old", "new"]);
    expect(received[1]).toMatchObject({
      url: "/rest/1/secretcode/imopenlines.bot.session.transfer.json",
      body: '{"CHAT_ID":112}',
    });
    expect(moves).toEqual([`${newBase}/rest/1/secretcode/`]);
  });

  const refused: [string, (url: string) => string][] = [
    ["to plain http off loopback", (url) => `http://portal.example.com${url}`],
    ["to another path", () => `${newBase}/rest/1/othercode/imopenlines.bot.session.transfer.json`],
    ["with a query", (url) => `${newBase}${url}?x=1`],
    ["to an address that is not a URL", () => "http://[::1"],
    ["to itself", (url) => `${oldBase}${url}`],
  ];
  it.each(refused)("is refused %s, without sending anything there", async (_name, location) => {
    scripts.old = (res, req) => res.writeHead(302, { location: location(req.url ?? "") }).end();
    const error = await failure(call());
    expect(error.code).toBe("PORTAL_MISCONFIGURED");
    expect(error.details.attempts).toBe(1);
    expect(error.message).not.toContain("secretcode");
    expect(sentTimes("new")).toBe(0);
    expect(sentTimes("old")).toBe(1);
  });
});
