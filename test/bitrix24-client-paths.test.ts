import type { ServerResponse } from "node:http";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type CallOptions, callMethod } from "../lambda/bitrix24/client.ts";
import { failure } from "./support/failure.ts";
import { type Answer, json, scriptedServers } from "./support/scripted-servers.ts";

/**
 * The paths of the Bitrix24 client that test/at-most-once-client.test.ts does not walk: the request it
 * sends, the edges of the deadline, the injected jitter, redirects that are not moves, a move's time
 * budget, and the read-only (idempotent) retries. Two scripted raw HTTP servers on loopback ("old" and
 * "new", as for a renamed portal) record every request that reaches them.
 */
const { received, scripts, start, sentTimes: sentTo, close } = scriptedServers();

let oldBase: string;
let newBase: string;
beforeAll(async () => {
  oldBase = await start("old");
  newBase = await start("new");
});
afterAll(close);
beforeEach(() => {
  received.length = 0;
  scripts.old = (res) => json(res, 200, { result: "old" });
  scripts.new = (res) => json(res, 200, { result: "new" });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Answers from a list, one per request; the last answer repeats. */
const inTurn = (...answers: ((res: ServerResponse) => void)[]): Answer => {
  let n = 0;
  return (res) => answers[Math.min(n++, answers.length - 1)]?.(res);
};
const METHOD = "imopenlines.bot.session.transfer";
const PATH = `/rest/1/secretcode/${METHOD}.json`;
const call = (options: Partial<CallOptions> = {}, params: Record<string, unknown> = { CHAT_ID: 112 }) =>
  callMethod(`${oldBase}/rest/1/secretcode/`, METHOD, params, {
    deadline: Date.now() + 8_000,
    attemptTimeoutMs: 2_000,
    retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 },
    allowHttpLoopback: true,
    ...options,
  });
const sentTimes = (server = "old") => sentTo(server);
const rateLimited = (res: ServerResponse) => json(res, 503, { error: "QUERY_LIMIT_EXCEEDED" });

describe("the request", () => {
  it("is a JSON POST of the params to <rest base><method>.json", async () => {
    const params = { CHAT_ID: 112, TRANSFER_ID: "queue7", nested: { a: [1, "два"] } };
    await expect(call({}, params)).resolves.toEqual({ result: "old", attempts: 1 });
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe(PATH);
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers.accept).toBe("application/json");
    expect(request?.body).toBe(JSON.stringify(params));
    expect(JSON.parse(request?.body ?? "")).toEqual(params);
  });
});

describe("the jitter between attempts", () => {
  it("comes from the injected random source", async () => {
    const random = vi.fn(() => 0.5);
    scripts.old = inTurn(rateLimited, (res) => json(res, 200, { result: true }));
    await expect(call({ random })).resolves.toMatchObject({ result: true, attempts: 2 });
    expect(random).toHaveBeenCalledTimes(1);
    expect(sentTimes()).toBe(2);
  });

  it("is not drawn (no back-off) after the last attempt", async () => {
    const random = vi.fn(() => 0.5);
    scripts.old = rateLimited;
    const error = await failure(call({ random, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 2 } }));
    expect(error.code).toBe("RATE_LIMITED");
    expect(error.details.attempts).toBe(1);
    expect(random).not.toHaveBeenCalled();
    expect(sentTimes()).toBe(1);
  });
});

describe("the deadline, on a frozen clock (only Date is faked: sockets and timers run for real)", () => {
  const frozen = () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    return Date.now();
  };

  it("still starts an attempt with exactly 200 ms left", async () => {
    const now = frozen();
    await expect(call({ deadline: now + 200 })).resolves.toEqual({ result: "old", attempts: 1 });
    expect(sentTimes()).toBe(1);
  });

  it("starts none with 199 ms left", async () => {
    const now = frozen();
    const error = await failure(call({ deadline: now + 199 }));
    expect(error.code).toBe("UPSTREAM_TIMEOUT");
    expect(error.details).toMatchObject({ detail: "no time was left to call Bitrix24", attempts: 0 });
    expect(sentTimes()).toBe(0);
  });

  it("does not try OPERATOR_WRONG again when its 500 ms wait and an attempt no longer fit", async () => {
    const now = frozen();
    scripts.old = inTurn(
      (res) => json(res, 400, { error: "OPERATOR_WRONG" }),
      (res) => json(res, 200, { result: true }),
    );
    // 600 ms left: room for an attempt, not for 500 ms of waiting and then 200 ms of attempt.
    const error = await failure(call({ deadline: now + 600 }));
    expect(error.code).toBe("TRANSFER_REJECTED");
    expect(error.details.attempts).toBe(1);
    expect(sentTimes()).toBe(1);
  });
});

describe("a redirect that is not a portal move", () => {
  it("a 302 without a Location is a failed answer, not a move", async () => {
    scripts.old = (res) => res.writeHead(302).end();
    const error = await failure(call());
    expect(error.code).toBe("UPSTREAM_ERROR");
    expect(error.details.detail).toBe("Bitrix24 answered HTTP 302 without an error code");
    expect(error.details.attempts).toBe(1);
    expect(received.map((entry) => entry.server)).toEqual(["old"]);
  });

  it("a 200 with a result is a success even when it carries a Location", async () => {
    scripts.old = (res, { url }) => json(res, 200, { result: "old" }, { location: `${newBase}${url}` });
    await expect(call()).resolves.toEqual({ result: "old", attempts: 1 });
    expect(received.map((entry) => entry.server)).toEqual(["old"]);
  });
});

describe("a portal move", () => {
  it("that is refused ends even a read-only call: another try would meet the same redirect", async () => {
    scripts.old = (res, { url }) => res.writeHead(302, { location: `${oldBase}${url}?again=1` }).end();
    const error = await failure(call({ idempotent: true }));
    expect(error.code).toBe("PORTAL_MISCONFIGURED");
    expect(error.details.attempts).toBe(1);
    expect(received.map((entry) => entry.server)).toEqual(["old"]);
  });

  it("is followed without an onMoved listener", async () => {
    scripts.old = (res, { url }) => res.writeHead(302, { location: `${newBase}${url}` }).end();
    await expect(call()).resolves.toEqual({ result: "new", attempts: 1 });
    expect(received.map((entry) => [entry.server, entry.url])).toEqual([
      ["old", PATH],
      ["new", PATH],
    ]);
  });

  it("leaves the new address only what is left of the attempt's time", async () => {
    scripts.old = (res, { url }) => {
      setTimeout(() => res.writeHead(302, { location: `${newBase}${url}` }).end(), 300);
    };
    scripts.new = () => {}; // reads the request, never answers
    const error = await failure(call({ attemptTimeoutMs: 600 }));
    expect(error.code).toBe("OUTCOME_UNKNOWN");
    const detail = String(error.details.detail);
    expect(detail).toMatch(/^Bitrix24 did not answer within \d+ ms after the request was sent; /);
    const allowed = Number(/within (\d+) ms/.exec(detail)?.[1]);
    // 600 ms for the attempt, of which the old address took at least 300 (not 600 + 300).
    expect(allowed).toBeGreaterThanOrEqual(1);
    expect(allowed).toBeLessThanOrEqual(300);
    expect(received.map((entry) => entry.server)).toEqual(["old", "new"]);
  });

  it("redirected again by the new address ends as PORTAL_MISCONFIGURED, not followed and not retried", async () => {
    scripts.old = (res, { url }) => res.writeHead(302, { location: `${newBase}${url}` }).end();
    scripts.new = (res, { url }) => res.writeHead(301, { location: `${oldBase}${url}` }).end();
    const error = await failure(call({ idempotent: true }));
    expect(error.code).toBe("PORTAL_MISCONFIGURED");
    expect(error.details).toMatchObject({
      detail: "Bitrix24 redirected the call twice; check the portal's address",
      attempts: 1,
    });
    expect(received.map((entry) => entry.server)).toEqual(["old", "new"]);
  });
});

describe("a timeout", () => {
  it("names Bitrix24 as the peer that did not answer", async () => {
    scripts.old = () => {};
    const error = await failure(call({ attemptTimeoutMs: 250 }));
    expect(error.code).toBe("OUTCOME_UNKNOWN");
    expect(error.details.detail).toMatch(
      /^Bitrix24 did not answer within 250 ms after the request was sent; /,
    );
    expect(sentTimes()).toBe(1);
  });
});

describe("an answer other than 200 without an error code", () => {
  it.each([
    [
      "404 with an HTML page",
      404,
      (res: ServerResponse) => res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not found</h1>"),
    ],
    ["403 with an empty object", 403, (res: ServerResponse) => json(res, 403, {})],
    ["400 that carries a result", 400, (res: ServerResponse) => json(res, 400, { result: true })],
  ] as const)("%s is UPSTREAM_ERROR after one request", async (_name, status, answer) => {
    scripts.old = answer;
    const error = await failure(call());
    expect(error.code).toBe("UPSTREAM_ERROR");
    expect(error.details).toMatchObject({
      detail: `Bitrix24 answered HTTP ${status} without an error code`,
      attempts: 1,
    });
    expect(sentTimes()).toBe(1);
  });
});

describe("a read-only (idempotent) call", () => {
  const idempotent = { idempotent: true, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } };

  it.each([
    ["500 ERROR_CORE", (res: ServerResponse) => json(res, 500, { error: "ERROR_CORE" })],
    ["503 without an error code", (res: ServerResponse) => res.writeHead(503).end("<h1>503</h1>")],
    ["200 with an unreadable body", (res: ServerResponse) => res.writeHead(200).end("not json")],
    ["200 without a result", (res: ServerResponse) => json(res, 200, { total: 1 })],
  ])("is sent again after %s", async (_name, answer) => {
    scripts.old = inTurn(answer, (res) => json(res, 200, { result: ["imopenlines"] }));
    await expect(call(idempotent)).resolves.toEqual({ result: ["imopenlines"], attempts: 2 });
    expect(sentTimes()).toBe(2);
  });

  // Sent again because it cannot have done harm, so its failure is no unknown outcome either.
  it.each([
    [
      "500 ERROR_CORE",
      (res: ServerResponse) => json(res, 500, { error: "ERROR_CORE" }),
      "Bitrix24 failed with ERROR_CORE",
    ],
    [
      "503 without an error code",
      (res: ServerResponse) => res.writeHead(503).end(),
      "Bitrix24 answered HTTP 503 without an error code",
    ],
    [
      "200 with an unreadable body",
      (res: ServerResponse) => res.writeHead(200).end("not json"),
      "Bitrix24 answered HTTP 200 with an unreadable body",
    ],
  ])("that always gets %s ends in UPSTREAM_ERROR after every attempt", async (_name, answer, detail) => {
    scripts.old = answer;
    const error = await failure(call(idempotent));
    expect(error.code).toBe("UPSTREAM_ERROR");
    expect(error.details).toMatchObject({ detail, attempts: 3 });
    expect(sentTimes()).toBe(3);
  });
});

describe("a call that is not read-only and got an unreadable 200", () => {
  it("is reported once as OUTCOME_UNKNOWN, saying why", async () => {
    scripts.old = (res) => res.writeHead(200).end("not json");
    const error = await failure(call());
    expect(error.code).toBe("OUTCOME_UNKNOWN");
    expect(error.details.detail).toMatch(
      /^Bitrix24 answered HTTP 200 with an unreadable body; the outcome is unknown/,
    );
    expect(error.details.attempts).toBe(1);
    expect(sentTimes()).toBe(1);
  });
});
