import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { callMethod, MAX_RESPONSE_BYTES } from "../lambda/bitrix24/client.ts";
import { backOff, type RetryPolicy } from "../lambda/bitrix24/deadline.ts";
import { networkErrorCode } from "../lambda/bitrix24/http-exchange.ts";
import { TransferError } from "../lambda/domain/problems.ts";

/** The guards of the Bitrix24 client that keep secrets out of errors and retries inside the deadline. */

describe("the network error guard", () => {
  it("reports the error's code, from the error or its causes", () => {
    expect(networkErrorCode(Object.assign(new Error("boom"), { code: "ECONNRESET" }))).toBe("ECONNRESET");
    expect(networkErrorCode({ code: "UND_ERR_SOCKET" })).toBe("UND_ERR_SOCKET");
    expect(networkErrorCode({ code: "E2BIG" })).toBe("E2BIG");
    expect(networkErrorCode(new TypeError("fetch failed", { cause: { code: "ENOTFOUND" } }))).toBe(
      "ENOTFOUND",
    );
    expect(networkErrorCode({ code: 42, cause: { code: "EPIPE" } })).toBe("EPIPE");
  });

  it.each([
    ["a URL as code", { code: "https://acme.bitrix24.com/rest/1/s3cr3t/" }],
    ["a code followed by text", { code: "ECONNRESET https://acme.bitrix24.com/rest/1/s3cr3t/" }],
    ["text followed by a code", { code: "https://acme.bitrix24.com/rest/1/s3cr3t/ ECONNRESET" }],
    ["a lower-case code", { code: "econnreset" }],
    ["an empty code", { code: "" }],
    ["no code", new Error("connect ECONNREFUSED https://acme.bitrix24.com/rest/1/s3cr3t/")],
    ["a string", "ECONNRESET"],
    ["undefined", undefined],
    ["null", null],
    // Only objects are read: whatever else is thrown says nothing we could trust.
    ["a function with a code", Object.assign(() => {}, { code: "EPIPE" })],
  ])("never passes on %s", (_, error) => {
    expect(networkErrorCode(error)).toBe("network error");
  });

  it("follows at most three causes, and stops on a cycle", () => {
    const chain = (depth: number): object => (depth === 0 ? { code: "EPIPE" } : { cause: chain(depth - 1) });
    expect(networkErrorCode(chain(3))).toBe("EPIPE");
    expect(networkErrorCode(chain(4))).toBe("network error");
    const cycle: { cause?: unknown } = {};
    cycle.cause = cycle;
    expect(networkErrorCode(cycle)).toBe("network error");
  });
});

describe("backing off between attempts", () => {
  const retry: RetryPolicy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1_000 };
  const NOW = 1_000_000;

  beforeAll(() => {
    vi.useFakeTimers({ now: NOW });
  });
  afterAll(() => {
    vi.useRealTimers();
  });

  /** How long backOff waited, in fake milliseconds, and what it answered. */
  async function wait(attempt: number, deadline: number, random: () => number) {
    vi.setSystemTime(NOW);
    let settled: boolean | undefined;
    const done = backOff(attempt, retry, deadline, random).then((value) => {
      settled = value;
    });
    await vi.advanceTimersByTimeAsync(0);
    while (settled === undefined && Date.now() - NOW <= 10_000) await vi.advanceTimersByTimeAsync(1);
    await done;
    return { waited: Date.now() - NOW, answer: settled };
  }

  it("waits a jittered share of base × 2^(attempt − 1), capped at the maximum", async () => {
    expect(await wait(1, NOW + 60_000, () => 1)).toEqual({ waited: 100, answer: true });
    expect(await wait(2, NOW + 60_000, () => 1)).toEqual({ waited: 200, answer: true });
    expect(await wait(3, NOW + 60_000, () => 0.5)).toEqual({ waited: 200, answer: true });
    expect(await wait(4, NOW + 60_000, () => 1)).toEqual({ waited: 800, answer: true });
    expect(await wait(5, NOW + 60_000, () => 1)).toEqual({ waited: 1_000, answer: true });
    expect(await wait(9, NOW + 60_000, () => 0.25)).toEqual({ waited: 250, answer: true });
    expect(await wait(1, NOW + 60_000, () => 0)).toEqual({ waited: 0, answer: true });
  });

  it("gives up at once when the next attempt could not get 200 ms before the deadline", async () => {
    // 400 ms of waiting and a 200 ms attempt fit exactly before the deadline…
    expect(await wait(3, NOW + 600, () => 1)).toEqual({ waited: 400, answer: true });
    // …one millisecond less does not, and then there is no waiting at all.
    expect(await wait(3, NOW + 599, () => 1)).toEqual({ waited: 0, answer: false });
    expect(await wait(1, NOW + 199, () => 0)).toEqual({ waited: 0, answer: false });
    expect(await wait(1, NOW + 200, () => 0)).toEqual({ waited: 0, answer: true });
  });
});

describe("the response size limit", () => {
  let server: Server;
  let base: string;
  let answer: { body: string; chunked: boolean };

  beforeAll(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        const headers: Record<string, string | number> = { "content-type": "application/json" };
        if (!answer.chunked) headers["content-length"] = Buffer.byteLength(answer.body);
        response.writeHead(200, headers);
        if (answer.chunked) {
          // Several writes, so the limit is checked as the chunks add up.
          const half = Math.floor(answer.body.length / 2);
          response.write(answer.body.slice(0, half));
          response.end(answer.body.slice(half));
        } else response.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rest/1/code/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => vi.useRealTimers());

  /** A `{"result": "xxx…"}` body of exactly `bytes` bytes. */
  const bodyOf = (bytes: number) => `{"result":"${"x".repeat(bytes - 13)}"}`;
  const call = () =>
    callMethod(base, "profile", {}, { deadline: Date.now() + 10_000, attemptTimeoutMs: 5_000 });

  it("is 1 MiB", () => {
    expect(MAX_RESPONSE_BYTES).toBe(1_048_576);
  });

  it.each([false, true])(
    "reads an answer of exactly 1 MiB and refuses one byte more (chunked: %s)",
    async (chunked) => {
      answer = { body: bodyOf(MAX_RESPONSE_BYTES), chunked };
      expect(answer.body.length).toBe(1_048_576);
      const read = await call();
      expect(read.attempts).toBe(1);
      expect((read.result as string).length).toBe(1_048_576 - 13);

      answer = { body: bodyOf(MAX_RESPONSE_BYTES + 1), chunked };
      const refused = await call().catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(TransferError);
      // A 200 that cannot be read may hide a performed call: reported once, never retried.
      expect(refused).toMatchObject({ code: "OUTCOME_UNKNOWN", details: { attempts: 1 } });
    },
  );
});
