import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { runBatch } from "./batch.ts";
import { demoPortal } from "./demo-portal.ts";
import {
  type Fault,
  type FaultKind,
  type FaultOptions,
  FaultPlan,
  faultAnswer,
  htmlErrorPage,
  JSON_TYPE,
} from "./faults.ts";
import { DEFAULT_RATE_LIMIT, type RateLimit, RateLimiter } from "./leaky-bucket.ts";
import { invokeMethod, type MethodContext, normalizeMethodName } from "./methods.ts";
import { isGiven } from "./php-values.ts";
import { type ChatSnapshot, type PortalSeed, PortalState, type WebhookSeed } from "./portal-state.ts";
import { mergeParams, parseBody, parseQueryString } from "./request-params.ts";
import { RestError, systemErrors } from "./rest-errors.ts";
import { timeEnvelope } from "./time-envelope.ts";
import type { TransferRecord } from "./transfer-method.ts";

export interface SimulatorOptions {
  /** Port on 127.0.0.1; default 0 (a free one). */
  port?: number;
  /** Leaky bucket per webhook; default { burst: 50, drainPerSecond: 2 } (cloud plans); false: no limit. */
  rateLimit?: RateLimit | false;
  /** Default: demoPortal(). */
  portal?: PortalSeed;
  /** Clock in epoch ms for the rate limit, `time` blocks and ledger; inject one to move time in tests. */
  now?: () => number;
}

/** One HTTP request the simulator received. */
export interface HitRecord {
  /** Method name as called, lower-cased, without `.json` ("" when the path names none). */
  method: string;
  /** HTTP status answered; 0 when a fault answered nothing (reset, hang). */
  status: number;
  /** The Bitrix24 error code answered, if any. */
  error?: string;
  /** The injected fault that shaped the answer, if any. */
  fault?: FaultKind;
  at: number;
}

export interface Simulator {
  /** "http://127.0.0.1:<port>" */
  readonly url: string;
  readonly port: number;
  /** "<url>/rest/<userId>/<code>/" for the given webhook, or the portal's first one. */
  webhookUrl(webhook?: { userId: number; code: string }): string;
  /** Transfers that really happened, oldest first (batch commands included). */
  readonly ledger: readonly TransferRecord[];
  /** Calls `listener` after each transfer (batch commands included); returns a function that unsubscribes. */
  onTransfer(listener: (record: TransferRecord) => void): () => void;
  /** Every request received, in the order answered. A batch is one hit. */
  readonly hits: readonly HitRecord[];
  /** A chat's current state (line, bots in it, operator), or undefined for an unknown chat. */
  chat(chatId: number): ChatSnapshot | undefined;
  addWebhook(webhook: WebhookSeed): void;
  /** The code stops working at once: INVALID_CREDENTIALS. */
  revokeWebhook(code: string): void;
  /** One-shot by default; see FaultOptions. */
  injectFault(fault: Fault, options?: FaultOptions): void;
  clearFaults(): void;
  /** Clears ledger, hits, faults and rate-limit buckets and restores the chats; webhooks stay as they are. */
  reset(): void;
  /** Stops listening and destroys every connection, hung ones included. */
  close(): Promise<void>;
}

/** Request bodies above this get 413 (nginx's page). */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Past this the connection is dropped instead of draining the body for the 413. */
const DISCARD_LIMIT_BYTES = 16 * MAX_BODY_BYTES;

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const simulator = new PortalSimulator(options);
  await simulator.listen(options.port ?? 0);
  return simulator;
}

type Route =
  | { kind: "webhook"; userId: string; code: string; method: string }
  | { kind: "token"; method: string }
  | { kind: "rest-unknown"; method: string }
  | { kind: "outside"; method: string };

interface Answer {
  status: number;
  contentType: string;
  body: string;
  error?: string;
}

type BodyRead = { kind: "ok"; body: Buffer } | { kind: "too-large" } | { kind: "aborted" };

class PortalSimulator implements Simulator {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #wakeSleepers = new Set<() => void>();
  readonly #portal: PortalState;
  readonly #limiter: RateLimiter | undefined;
  readonly #faults = new FaultPlan();
  readonly #now: () => number;
  readonly #ledger: TransferRecord[] = [];
  readonly #hits: HitRecord[] = [];
  readonly #transferListeners = new Set<(record: TransferRecord) => void>();
  #port = 0;
  #closing: Promise<void> | undefined;

  constructor(options: SimulatorOptions) {
    this.#now = options.now ?? Date.now;
    this.#portal = new PortalState(options.portal ?? demoPortal());
    const rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
    this.#limiter = rateLimit === false ? undefined : new RateLimiter(rateLimit, this.#now);
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch(() => {
        if (res.headersSent) res.destroy();
        else send(res, jsonError(systemErrors.internal()));
      });
    });
    this.#server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, "127.0.0.1", () => {
        this.#server.off("error", reject);
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  get ledger(): readonly TransferRecord[] {
    return this.#ledger;
  }

  get hits(): readonly HitRecord[] {
    return this.#hits;
  }

  onTransfer(listener: (record: TransferRecord) => void): () => void {
    const subscription = (record: TransferRecord) => listener(record);
    this.#transferListeners.add(subscription);
    return () => {
      this.#transferListeners.delete(subscription);
    };
  }

  webhookUrl(webhook?: { userId: number; code: string }): string {
    const chosen = webhook ?? this.#portal.defaultWebhook;
    if (!chosen) throw new Error("the portal has no webhook; pass one to webhookUrl()");
    return `${this.url}/rest/${chosen.userId}/${encodeURIComponent(chosen.code)}/`;
  }

  chat(chatId: number): ChatSnapshot | undefined {
    return this.#portal.chat(chatId);
  }

  addWebhook(webhook: WebhookSeed): void {
    this.#portal.addWebhook(webhook);
  }

  revokeWebhook(code: string): void {
    this.#portal.revokeWebhook(code);
  }

  injectFault(fault: Fault, options?: FaultOptions): void {
    this.#faults.add(fault, options);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  reset(): void {
    this.#ledger.length = 0;
    this.#hits.length = 0;
    this.#faults.clear();
    this.#limiter?.reset();
    this.#portal.restoreChats();
  }

  close(): Promise<void> {
    if (!this.#closing) {
      for (const wake of this.#wakeSleepers) wake();
      this.#closing = new Promise((resolve) => this.#server.close(() => resolve()));
      for (const socket of this.#sockets) socket.destroy();
    }
    return this.#closing;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = this.#now();
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const route = parseRoute(url.pathname);
    const fault = this.#faults.take(route.method);

    if (fault?.kind === "reset") {
      this.#record(route.method, 0, undefined, fault.kind);
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "hang") {
      // Left unanswered; close() destroys the socket.
      this.#record(route.method, 0, undefined, fault.kind);
      return;
    }

    const body = await readBody(req);
    if (body.kind === "aborted" || this.#closing) return;
    if (fault?.kind === "latency") {
      await this.#sleep(fault.ms);
      if (this.#closing) return;
    }

    let answer: Answer;
    if (fault && fault.kind !== "latency") {
      answer = faultAnswer(fault, timeEnvelope(started, this.#now()));
    } else if (body.kind === "too-large") {
      answer = { status: 413, contentType: "text/html", body: htmlErrorPage(413) };
    } else {
      answer = this.#answer(route, url, req, body.body, started);
    }
    send(res, answer);
    this.#record(route.method, answer.status, answer.error, fault?.kind);
  }

  /** Authentication, rate limit, then the method: the order a portal applies them in. */
  #answer(route: Route, url: URL, req: IncomingMessage, rawBody: Buffer, started: number): Answer {
    if (route.kind === "outside") return { status: 404, contentType: "text/html", body: htmlErrorPage(404) };
    try {
      const query = parseQueryString(url.search.slice(1));
      const body = parseBody(req.headers["content-type"], rawBody);
      const params = body.ok ? mergeParams(query, body.params) : query;

      if (route.kind === "rest-unknown") throw systemErrors.methodNotFound();
      if (route.kind === "token") {
        throw isGiven(params.auth) ? systemErrors.invalidToken() : systemErrors.noAuthFound();
      }
      const webhook = this.#portal.findWebhook(route.userId, route.code);
      if (!webhook) throw systemErrors.invalidCredentials();
      if (this.#limiter && !this.#limiter.tryAdd(`${webhook.userId}/${webhook.code}`)) {
        throw systemErrors.queryLimitExceeded();
      }
      if (!body.ok) throw systemErrors.badArgument(body.reason);

      const context: MethodContext = {
        portal: this.#portal,
        webhook,
        now: this.#now,
        recordTransfer: (record) => this.#recordTransfer(record),
      };
      const outcome =
        route.method === "batch" ? runBatch(params, context) : invokeMethod(route.method, params, context);
      const payload: Record<string, unknown> = { result: outcome.result };
      if (outcome.next !== undefined) payload.next = outcome.next;
      if (outcome.total !== undefined) payload.total = outcome.total;
      payload.time = timeEnvelope(started, this.#now());
      return { status: 200, contentType: JSON_TYPE, body: JSON.stringify(payload) };
    } catch (error) {
      if (error instanceof RestError) return jsonError(error);
      throw error;
    }
  }

  #recordTransfer(record: TransferRecord): void {
    this.#ledger.push(record);
    for (const listener of this.#transferListeners) {
      try {
        listener({ ...record });
      } catch {
        // A listener's failure is the listener's problem, not the portal's.
      }
    }
  }

  #record(method: string, status: number, error: string | undefined, fault: FaultKind | undefined): void {
    const hit: HitRecord = { method, status, at: this.#now() };
    if (error !== undefined) hit.error = error;
    if (fault !== undefined) hit.fault = fault;
    this.#hits.push(hit);
  }

  /** A timer that close() cuts short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakeSleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakeSleepers.add(wake);
    });
  }
}

/** `/rest/<userId>/<code>/<method>[.json]` (webhook) or `/rest/<method>` (OAuth token). */
function parseRoute(pathname: string): Route {
  if (!pathname.startsWith("/rest/")) return { kind: "outside", method: "" };
  const segments = pathname.slice("/rest/".length).split("/").map(safeDecode);
  const method = normalizeMethodName(segments.at(-1) ?? "");
  if (segments.length === 3)
    return { kind: "webhook", userId: segments[0] ?? "", code: segments[1] ?? "", method };
  if (segments.length === 1) return { kind: "token", method };
  return { kind: "rest-unknown", method };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function jsonError(error: RestError): Answer {
  return {
    status: error.status,
    contentType: JSON_TYPE,
    body: JSON.stringify(error.toEnvelope()),
    error: error.code,
  };
}

function send(res: ServerResponse, answer: Answer): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(answer.status, {
    "content-type": answer.contentType,
    "content-length": Buffer.byteLength(answer.body),
  });
  res.end(answer.body);
}

/** Reads the body up to MAX_BODY_BYTES; a larger one is drained (for the 413) or, if huge, dropped. */
function readBody(req: IncomingMessage): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > DISCARD_LIMIT_BYTES) {
        req.socket.destroy();
        return;
      }
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
      }
      if (!tooLarge) chunks.push(chunk);
    });
    req.on("end", () =>
      resolve(tooLarge ? { kind: "too-large" } : { kind: "ok", body: Buffer.concat(chunks) }),
    );
    req.on("error", () => resolve({ kind: "aborted" }));
    req.on("close", () => resolve({ kind: "aborted" }));
  });
}
