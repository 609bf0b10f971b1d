import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  exchange,
  HttpConnectionError,
  HttpTimeoutError,
  networkErrorCode,
} from "../lambda/bitrix24/http-exchange.ts";

/** The HTTP primitive under the Bitrix24 and OAuth clients, against a real server on loopback. */
let server: Server;
let base: URL;
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      switch (req.url) {
        case "/echo":
          res
            .writeHead(201, { "content-type": "text/plain" })
            .end(`${req.method} ${req.headers["content-type"]} ${body}`);
          break;
        case "/big":
          res.writeHead(200).end("x".repeat(2048));
          break;
        case "/big-chunked":
          res.writeHead(200);
          res.write("x".repeat(1500));
          res.end("y".repeat(1500));
          break;
        case "/reset":
          req.socket.destroy();
          break;
        case "/cut":
          res.writeHead(200, { "content-length": "100" });
          res.write("partial");
          setTimeout(() => req.socket.destroy(), 20);
          break;
        default: // /hang: never answers
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const call = (path: string, extra: { body?: string; timeoutMs?: number } = {}) =>
  exchange({
    method: extra.body === undefined ? "GET" : "POST",
    url: new URL(path, base),
    headers: { "content-type": "application/json" },
    ...(extra.body === undefined ? {} : { body: extra.body }),
    timeoutMs: extra.timeoutMs ?? 2_000,
    maxBytes: 1024,
  });

describe("exchange", () => {
  it("sends the body and returns status and text", async () => {
    await expect(call("/echo", { body: '{"é":1}' })).resolves.toEqual({
      status: 201,
      text: 'POST application/json {"é":1}',
    });
  });

  it("drops an answer over the limit, declared or streamed", async () => {
    await expect(call("/big")).resolves.toEqual({ status: 200, text: "" });
    await expect(call("/big-chunked")).resolves.toEqual({ status: 200, text: "" });
  });

  it("times out the whole exchange", async () => {
    await expect(call("/hang", { timeoutMs: 100 })).rejects.toBeInstanceOf(HttpTimeoutError);
  });

  it("reports a reset connection and a cut-off answer with an error code, not a URL, as having reached the server", async () => {
    for (const path of ["/reset", "/cut"]) {
      const error = await call(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HttpConnectionError);
      expect(error).toMatchObject({ reached: true, cause: { code: "ECONNRESET" } });
      expect(networkErrorCode(error)).toBe("ECONNRESET");
    }
  });

  it("says a refused connection never reached the server: nothing can have run", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await exchange({
      method: "POST",
      url: new URL(`http://127.0.0.1:${port}/x`),
      body: "{}",
      timeoutMs: 1000,
      maxBytes: 1024,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ reached: false, cause: { code: "ECONNREFUSED" } });
  });

  it("says a timeout after the request was sent reached the server", async () => {
    const error = await call("/hang", { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpTimeoutError);
    expect(error).toMatchObject({ reached: true });
  });
});
