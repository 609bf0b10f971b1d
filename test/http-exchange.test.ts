import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  exchange,
  HttpConnectionError,
  HttpTimeoutError,
  loadHttps,
  MAX_KEPT_ALIVE_IDLE_MS,
  networkErrorCode,
  parseJsonObject,
  transportFailure,
} from "../lambda/bitrix24/http-exchange.ts";

/** The HTTP primitive under the Bitrix24 and OAuth clients, against a real server on loopback. */
let server: Server;
let base: URL;
let connections = 0;
let closed = 0;
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
        case "/length":
          res.writeHead(200).end(`${req.headers["content-length"]} ${req.headers["transfer-encoding"]}`);
          break;
        case "/moved":
          res.writeHead(302, { location: "https://elsewhere.example/rest/" }).end("x".repeat(2048));
          break;
        case "/declared-huge":
          // Declares 10 MB, sends a little and stalls: nothing is waited for.
          res.writeHead(200, { "content-length": String(10 * 1024 * 1024) });
          res.write("x".repeat(100));
          break;
        case "/grows":
          res.writeHead(200);
          res.write("x".repeat(1000));
          setTimeout(() => res.end("y".repeat(1000)), 20);
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
  server.on("connection", (socket) => {
    connections += 1;
    socket.on("close", () => (closed += 1));
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

describe("exchange, in detail", () => {
  it("declares the body's length in bytes, and sends none for a GET", async () => {
    await expect(call("/length", { body: '{"é":1}' })).resolves.toStrictEqual({
      status: 200,
      text: "8 undefined",
    });
    await expect(call("/length")).resolves.toStrictEqual({ status: 200, text: "undefined undefined" });
  });

  it("keeps a redirect's Location, even when the answer is too large to read", async () => {
    await expect(call("/moved")).resolves.toStrictEqual({
      status: 302,
      text: "",
      location: "https://elsewhere.example/rest/",
    });
  });

  it("gives up on an answer declared too large at once, and closes its connection", async () => {
    const closedBefore = closed;
    await expect(call("/declared-huge", { timeoutMs: 5_000 })).resolves.toStrictEqual({
      status: 200,
      text: "",
    });
    await expect.poll(() => closed).toBeGreaterThan(closedBefore);
  });

  it("drops an answer that grows over the limit after a first part under it", async () => {
    await expect(call("/grows")).resolves.toStrictEqual({ status: 200, text: "" });
  });

  it("names its errors", async () => {
    expect(await call("/hang", { timeoutMs: 50 }).catch((e: Error) => e.name)).toBe("HttpTimeoutError");
    expect(await call("/reset").catch((e: Error) => e.name)).toBe("HttpConnectionError");
  });

  it("keeps the connection of a finished exchange for the next one, past the first one's timeout", async () => {
    await call("/echo", { body: "{}", timeoutMs: 50 });
    const before = connections;
    await new Promise((resolve) => setTimeout(resolve, 100));
    await call("/echo", { body: "{}" });
    expect(connections).toBe(before);
  });

  it("reuses one kept-alive connection for consecutive exchanges", async () => {
    await call("/echo", { body: "{}" });
    const before = connections;
    await call("/echo", { body: "{}" });
    await call("/echo", { body: "{}" });
    expect(connections).toBe(before);
  });
});

describe("reading an answer's body", () => {
  it("takes only a JSON object", () => {
    expect(parseJsonObject('{"result":true}')).toStrictEqual({ result: true });
    for (const text of ["", "[]", "1", "null", '"x"', "<html>", "{"])
      expect(parseJsonObject(text)).toBeUndefined();
  });
});

describe("a failed exchange as a problem", () => {
  it("says whether the request can have run, in our words only", () => {
    expect(transportFailure(new HttpTimeoutError(100, false), 100, "Bitrix24")).toStrictEqual({
      code: "UPSTREAM_TIMEOUT",
      detail: "Bitrix24 did not answer within 100 ms",
      reached: false,
    });
    expect(transportFailure(new HttpTimeoutError(100, true), 100, "Bitrix24")).toStrictEqual({
      code: "UPSTREAM_TIMEOUT",
      detail: "Bitrix24 did not answer within 100 ms after the request was sent",
      reached: true,
    });
    const refused = Object.assign(new Error("connect ECONNREFUSED http://h/rest/1/code/"), {
      code: "ECONNREFUSED",
    });
    expect(transportFailure(new HttpConnectionError(refused, false), 100, "Bitrix24")).toStrictEqual({
      code: "UPSTREAM_ERROR",
      detail: "the connection to Bitrix24 failed (ECONNREFUSED)",
      reached: false,
    });
  });

  it("takes an error it does not know for one that may have run", () => {
    expect(transportFailure(new TypeError("https://h/rest/1/code/ broke"), 100, "Bitrix24")).toStrictEqual({
      code: "UPSTREAM_ERROR",
      detail: "the connection to Bitrix24 broke after the request was sent (network error)",
      reached: true,
    });
  });
});

/** Moves Date.now() forward by what `advance` is told, as a frozen sandbox finds it on thaw. */
function movableClock(): { advance: (ms: number) => void; restore: () => void } {
  const realNow = Date.now.bind(Date);
  let offset = 0;
  const spy = vi.spyOn(Date, "now").mockImplementation(() => realNow() + offset);
  return { advance: (ms) => (offset += ms), restore: () => spy.mockRestore() };
}

describe("exchange on a kept-alive connection", () => {
  it("reuses a connection idle up to the bound and replaces an older one before writing to it", async () => {
    const clock = movableClock();
    try {
      await call("/echo", { body: "{}" });
      const first = connections;
      // Timers could not move with the clock: the idle time is read from Date.now() as a request starts.
      clock.advance(MAX_KEPT_ALIVE_IDLE_MS - 50);
      await call("/echo", { body: "{}" });
      expect(connections).toBe(first);
      // Its idle time counts from when it was last handed back, not from when it was opened.
      clock.advance(MAX_KEPT_ALIVE_IDLE_MS - 50);
      await call("/echo", { body: "{}" });
      expect(connections).toBe(first);
      const closedBefore = closed;
      clock.advance(MAX_KEPT_ALIVE_IDLE_MS + 50);
      await expect(call("/echo", { body: "{}" })).resolves.toMatchObject({ status: 201 });
      expect(connections).toBe(first + 1);
      // The stale one is closed, not left open beside the new one.
      await expect.poll(() => closed).toBe(closedBefore + 1);
    } finally {
      clock.restore();
    }
  });

  it("keeps the bound below the shortest common keep-alive timeout (5 s)", () => {
    expect(MAX_KEPT_ALIVE_IDLE_MS).toBeLessThan(5000);
    expect(MAX_KEPT_ALIVE_IDLE_MS).toBeGreaterThanOrEqual(1000);
  });

  it("counts a request on a reused socket as reaching the server from the start", async () => {
    // The first exchange leaves its socket in the keep-alive pool; the reset lands on that socket, which
    // never emits "connect" again: only its being connected already says the request went out.
    await call("/echo", { body: "{}" });
    const error = await call("/reset", { body: "{}" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpConnectionError);
    expect(error).toMatchObject({ reached: true });
  });
});

/**
 * Portals are https: the same rules over TLS, where a connection only counts once its handshake is
 * over. The certificate (test/fixtures/tls) is a self-signed one for 127.0.0.1, made for these tests.
 */
describe("exchange over TLS", () => {
  const tls = new URL("./fixtures/tls/", import.meta.url);
  const cert = readFileSync(new URL("cert.pem", tls), "utf8");
  const key = readFileSync(new URL("key.pem", tls), "utf8");
  let secure: HttpsServer;
  let secureBase: URL;
  const received: string[] = [];
  let secureConnections = 0;
  beforeAll(async () => {
    // Load node:https up front, as the function's INIT does, so every test here uses the agent the
    // function would (mutation testing then counts its options as used by all of them, not only by
    // whichever test happened to load it first).
    loadHttps();
    secure = createHttpsServer({ key, cert }, (req, res) => {
      received.push(req.url ?? "");
      if (req.url === "/reset") return req.socket.destroy();
      if (req.url === "/hang") return;
      res.writeHead(200, { "content-type": "application/json" }).end(`{"via":"tls"}`);
    });
    secure.on("secureConnection", () => (secureConnections += 1));
    await new Promise<void>((resolve) => secure.listen(0, "127.0.0.1", resolve));
    secureBase = new URL(`https://127.0.0.1:${(secure.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    secure.closeAllConnections();
    await new Promise((resolve) => secure.close(resolve));
  });
  const over = (path: string, timeoutMs = 2_000, url = new URL(path, secureBase)) =>
    exchange({ method: "POST", url, body: "{}", timeoutMs, maxBytes: 1024 });

  it("refuses a certificate it cannot verify before sending anything", async () => {
    const error = await over("/x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpConnectionError);
    expect(error).toMatchObject({ reached: false });
    expect(networkErrorCode(error)).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
    expect(received).toEqual([]);
  });

  it("says a handshake that never finished reached nothing, though the TCP connection was made", async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket: Socket) => {
      sockets.push(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const error = await over("/x", 150, new URL(`https://127.0.0.1:${port}/x`)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HttpTimeoutError);
      expect(error).toMatchObject({ reached: false });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  describe("with the certificate trusted", () => {
    beforeAll(() => {
      // The keep-alive agent passes its options to every TLS connection: trust the test certificate.
      (loadHttps().agent.options as { ca?: string }).ca = cert;
    });
    afterAll(() => {
      delete (loadHttps().agent.options as { ca?: string }).ca;
    });

    it("sends the request and reads the answer, reusing one TLS connection", async () => {
      await expect(over("/ok")).resolves.toStrictEqual({ status: 200, text: '{"via":"tls"}' });
      const before = secureConnections;
      await over("/ok");
      await over("/ok");
      expect(secureConnections).toBe(before);
    });

    it("replaces a TLS connection idle beyond the bound with a new handshake", async () => {
      await over("/ok");
      const before = secureConnections;
      const clock = movableClock();
      try {
        clock.advance(MAX_KEPT_ALIVE_IDLE_MS + 1);
        await expect(over("/ok")).resolves.toMatchObject({ status: 200 });
        expect(secureConnections).toBe(before + 1);
      } finally {
        clock.restore();
      }
    });

    it("says a timeout or a reset after the handshake reached the server", async () => {
      const timedOut = await over("/hang", 150).catch((e: unknown) => e);
      expect(timedOut).toBeInstanceOf(HttpTimeoutError);
      expect(timedOut).toMatchObject({ reached: true });
      const reset = await over("/reset").catch((e: unknown) => e);
      expect(reset).toBeInstanceOf(HttpConnectionError);
      expect(reset).toMatchObject({ reached: true });
    });
  });
});
