import { Agent as HttpAgent, request as httpRequest } from "node:http";
import type { Duplex } from "node:stream";
import { isRecord } from "../domain/is-record.ts";

/**
 * One HTTP request and its answer, on node:http(s) with keep-alive agents. Not fetch: Node loads undici
 * and its WebAssembly parser on the first fetch, about 28 ms of every cold start (docs/performance.md),
 * while node:https is loaded anyway by the AWS SDK.
 */
export interface HttpExchange {
  method: "GET" | "POST";
  url: URL;
  headers?: Record<string, string>;
  body?: string;
  /** For the whole exchange, answer included. */
  timeoutMs: number;
  /** A larger answer is dropped unread: its `text` is "". */
  maxBytes: number;
}

export interface HttpAnswer {
  status: number;
  text: string;
  /** The `Location` header of a redirect, as sent. */
  location?: string;
}

/**
 * `reached` is false only when no connection to the server was ever established (DNS, refused, TLS
 * handshake, connect timeout): then the server cannot have run anything. Once connected, the request
 * may have been read and acted on even if the answer never came.
 */
export class HttpTimeoutError extends Error {
  readonly reached: boolean;
  constructor(timeoutMs: number, reached: boolean) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = "HttpTimeoutError";
    this.reached = reached;
  }
}

export class HttpConnectionError extends Error {
  readonly reached: boolean;
  constructor(cause: unknown, reached: boolean) {
    super("the connection failed", { cause });
    this.name = "HttpConnectionError";
    this.reached = reached;
  }
}

/**
 * How long a kept-alive connection may sit idle and still carry a request: 4 s, on the wall clock.
 * Lambda freezes a sandbox between invocations for minutes, and meanwhile the other end forgets the
 * connection: a server after its keep-alive timeout (5 s in Node's http.Server and Apache 2.4, 60–75 s
 * in nginx), an AWS NAT gateway after 350 s idle (it then answers the next packet with a reset). A
 * request written onto such a connection fails before any byte reaches Bitrix24, yet looks like one
 * that may have run. Timers cannot catch it (they fire after the thawed handler has already picked the
 * socket), so the idle time is read from Date.now() as each request starts, and an older connection is
 * dropped for a new one. Below the smallest of those timeouts; costs a new handshake after idle
 * (docs/performance.md).
 */
export const MAX_KEPT_ALIVE_IDLE_MS = 4000;

/** When each free kept-alive socket was last handed back, on the wall clock. */
const idleSince = new WeakMap<Duplex, number>();

/**
 * An agent that notes when a socket goes idle. keepSocketAlive is the documented hook for it; its
 * answer (keep or destroy) passes through, and a destroyed socket's note goes with it.
 */
function timedAgent<T extends HttpAgent>(agent: T): T {
  const keep = agent.keepSocketAlive.bind(agent);
  agent.keepSocketAlive = (socket: Duplex) => {
    idleSince.set(socket, Date.now());
    return keep(socket);
  };
  return agent;
}

/**
 * Takes every free socket idle too long out of the agent before a request can be given one:
 * `agentRemove` detaches it at once (the documented way to take a socket from an agent), then it is closed.
 */
function dropStaleSockets(agent: HttpAgent, now: number): void {
  for (const sockets of Object.values(agent.freeSockets)) {
    for (const socket of [...(sockets ?? [])]) {
      if (now - (idleSince.get(socket) ?? now) > MAX_KEPT_ALIVE_IDLE_MS) {
        socket.emit("agentRemove");
        socket.destroy();
      }
    }
  }
}

const httpAgent = timedAgent(new HttpAgent({ keepAlive: true }));

/**
 * node:https (with node:tls) is loaded on first use, not at import: loading it is the largest single
 * CPU cost of a cold start, and INIT can then do it while it waits for the secret (`loadHttps`).
 */
let https: { request: typeof import("node:https").request; agent: import("node:https").Agent } | undefined;

export function loadHttps(): NonNullable<typeof https> {
  if (!https) {
    const module = process.getBuiltinModule("node:https");
    https = { request: module.request, agent: timedAgent(new module.Agent({ keepAlive: true })) };
  }
  return https;
}

export function exchange({
  method,
  url,
  headers = {},
  body,
  timeoutMs,
  maxBytes,
}: HttpExchange): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    let timedOut = false;
    // A promise settles once: a later resolve or reject (a destroyed answer's error) is ignored.
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      outcome();
    };
    const secure = url.protocol === "https:";
    let reached = false;
    const tls = secure ? loadHttps() : undefined;
    const agent = tls ? tls.agent : httpAgent;
    dropStaleSockets(agent, Date.now());
    const request = (tls ? tls.request : httpRequest)(url, {
      method,
      agent,
      // request.end(body) sends the whole body at once, so node:http declares its Content-Length itself.
      headers,
    });
    const timer = setTimeout(() => {
      timedOut = true;
      request.destroy();
    }, timeoutMs);
    const failed = (error: Error) =>
      settle(() =>
        reject(timedOut ? new HttpTimeoutError(timeoutMs, reached) : new HttpConnectionError(error, reached)),
      );

    request.on("socket", (socket) => {
      // A kept-alive socket (idle less than MAX_KEPT_ALIVE_IDLE_MS) is connected already; a new one is
      // not until its (TLS) handshake is over.
      if (!socket.connecting) reached = true;
      else socket.once(secure ? "secureConnect" : "connect", () => (reached = true));
    });
    request.on("error", failed);
    request.on("response", (response) => {
      reached = true;
      const status = response.statusCode ?? 0;
      const { location } = response.headers;
      const tooLarge = () => {
        settle(() => resolve({ status, text: "", ...(location === undefined ? {} : { location }) }));
        response.destroy();
      };
      if (Number(response.headers["content-length"] ?? 0) > maxBytes) return tooLarge();
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) tooLarge();
        else chunks.push(chunk);
      });
      response.on("end", () =>
        settle(() =>
          resolve({
            status,
            text: Buffer.concat(chunks).toString("utf8"),
            ...(location === undefined ? {} : { location }),
          }),
        ),
      );
      // A connection lost mid-answer: the answer emits "error" (ECONNRESET, "aborted").
      response.on("error", failed);
    });
    request.end(body);
  });
}

/** An answer's body as a JSON object, or undefined for anything else (HTML, empty, a list, a number…). */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A failed exchange as a problem code and our own text. `reached`: the request may have been read and
 * acted on, so its outcome is unknown.
 */
export function transportFailure(
  error: unknown,
  timeoutMs: number,
  peer: string,
): { code: "UPSTREAM_TIMEOUT" | "UPSTREAM_ERROR"; detail: string; reached: boolean } {
  const reached =
    error instanceof HttpTimeoutError || error instanceof HttpConnectionError ? error.reached : true;
  const after = reached ? " after the request was sent" : "";
  if (error instanceof HttpTimeoutError) {
    return {
      code: "UPSTREAM_TIMEOUT",
      detail: `${peer} did not answer within ${timeoutMs} ms${after}`,
      reached,
    };
  }
  return {
    code: "UPSTREAM_ERROR",
    detail: `the connection to ${peer} ${reached ? "broke after the request was sent" : "failed"} (${networkErrorCode(error)})`,
    reached,
  };
}

/** Only the error's code (ECONNRESET, UND_ERR_SOCKET…): messages can quote the URL. */
export function networkErrorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[A-Z0-9_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return "network error";
}
