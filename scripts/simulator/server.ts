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
import { DEFAULT_OPERATING_LIMIT_SECONDS, LoadLimiter } from "./load-limiter.ts";
import type { Caller, MessageRecord, MethodContext, TransferRecord } from "./method-types.ts";
import { invokeMethod, METHODS, normalizeMethodName } from "./methods.ts";
import { OAuthServer, type TokenGrant, type TokenRequestRecord } from "./oauth-server.ts";
import { isGiven } from "./php-values.ts";
import { type ChatSnapshot, type PortalSeed, PortalState, type WebhookSeed } from "./portal-state.ts";
import { mergeParams, parseBody, parseQueryString } from "./request-params.ts";
import { type AuthRefusal, authRefusalError, RestError, systemErrors } from "./rest-errors.ts";
import { timeEnvelope } from "./time-envelope.ts";

export interface SimulatorOptions {
  /** Port on 127.0.0.1; default 0 (a free one). */
  port?: number;
  /**
   * Leaky bucket per portal and source IP, shared by its webhooks and apps (limits.md); default
   * { burst: 50, drainPerSecond: 2 } (cloud plans); false: no limit.
   */
  rateLimit?: RateLimit | false;
  /** Default: demoPortal(). */
  portal?: PortalSeed;
  /** Clock in epoch ms for the rate limit, `time` blocks, ledger and token expiry; inject one to move time in tests. */
  now?: () => number;
  /** Lifetime of an application's access token; default 3600 s, as on Bitrix24. */
  accessTokenLifetimeSeconds?: number;
  /** Lifetime of a refresh token; default 180 days. */
  refreshTokenLifetimeSeconds?: number;
  /**
   * Whether a refresh also kills the access token issued with the refresh token used. Neither the module
   * nor the docs say; default true. The product must be right either way (tests run both).
   */
  refreshKillsAccessToken?: boolean;
  /** LoadLimiter's `getLimitTime()`: operating seconds per method per 10 minutes; default 420. */
  operatingTimeLimitSeconds?: number;
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
  /** "<url>/oauth/token/": the token endpoint, which stands in for oauth.bitrix.info. */
  readonly tokenUrl: string;
  /** Installs an app of the seed (default: the first): its first token pair, as ONAPPINSTALL delivers it. */
  installApp(clientId?: string): TokenGrant;
  /** Uninstalls an app: every token it holds stops working. */
  revokeApp(clientId?: string): void;
  /** Every token-endpoint request, oldest first (not in `hits`, which are REST calls). */
  readonly tokenRequests: readonly TokenRequestRecord[];
  /** Refresh tokens that would be accepted now. */
  liveRefreshTokens(): string[];
  /**
   * Hand-overs that really happened (transfers and session.operator), oldest first, batch commands and
   * after-execution faults included: count executions here, not requests.
   */
  readonly ledger: readonly TransferRecord[];
  /** Messages bots sent with session.message.send, oldest first; `seq` is shared with the ledger. */
  readonly messages: readonly MessageRecord[];
  /** Calls `listener` after each ledger record (batch commands included); returns a function that unsubscribes. */
  onTransfer(listener: (record: TransferRecord) => void): () => void;
  /** Every request received, in the order answered. A batch is one hit. */
  readonly hits: readonly HitRecord[];
  /** A chat's current state (stage, session, owner, members), or undefined for an unknown chat. */
  chat(chatId: number): ChatSnapshot | undefined;
  /**
   * An operator answers the chat in Bitrix24's UI (imopenlines/lib/chat.php Chat::answer): they become
   * its owner and session operator, other people and the line's welcome bot (WELCOME_BOT_LEFT=queue)
   * leave. False when the module refuses: no open dialogue, or the user already is the owner.
   */
  answer(chatId: number, userId: number): boolean;
  /**
   * The line's queue offers the chat to an operator (Queue::transferToNext → Chat::transfer in
   * TRANSFER_MODE_AUTO): the session's operator, not yet answered; the owner stays 0 on an active line.
   * False when there is no open, unanswered dialogue.
   */
  offer(chatId: number, userId: number): boolean;
  /** The dialogue is closed (Chat::finish → Chat::close). False when none was open. */
  finish(chatId: number): boolean;
  addWebhook(webhook: WebhookSeed): void;
  /**
   * The portal refuses valid credentials with one of its own checks (rest-errors.ts AuthRefusal), for
   * every webhook and app it applies to, until cleared with `undefined` or by reset().
   */
  refuseAuth(refusal: AuthRefusal | undefined): void;
  /**
   * The method ran for `seconds` now, for the default webhook (or an app by client id): once over the
   * limit in the last ten minutes, its calls and batch commands get 429 OPERATION_TIME_LIMIT.
   */
  spendOperatingTime(method: string, seconds: number, clientId?: string): void;
  /** The app's trial or paid period ends: its refreshes answer PAYMENT_REQUIRED. */
  expireAppPayment(clientId?: string): void;
  /** The app's card now grants only these scopes: refreshing a token granted more answers invalid_scope. */
  setAppCardScopes(scopes: readonly string[], clientId?: string): void;
  /** The code stops working at once: INVALID_CREDENTIALS. */
  revokeWebhook(code: string): void;
  /** The next `times` (default 1) transfer attempts on the chat answer OPERATOR_WRONG without executing. */
  holdLock(chatId: number, options?: { times?: number }): void;
  /**
   * The portal's address changes: a second listener on a new port serves the same state and becomes
   * `url`; the old address answers every /rest/ request with 302 to the new one. Resolves to the new url.
   */
  movePortal(): Promise<string>;
  /** One-shot by default; see FaultOptions. */
  injectFault(fault: Fault, options?: FaultOptions): void;
  clearFaults(): void;
  /**
   * Clears ledger, messages, hits, faults, locks, auth refusals and rate-limit buckets, restores the chats
   * and the apps' cards and payment; webhooks and tokens stay.
   */
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
  | { kind: "oauth-token"; method: string }
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
  /** Every listener, oldest first; the last one is the portal's current address. */
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #wakeSleepers = new Set<() => void>();
  readonly #portal: PortalState;
  readonly #limiter: RateLimiter | undefined;
  readonly #faults = new FaultPlan();
  readonly #now: () => number;
  readonly #ledger: TransferRecord[] = [];
  readonly #messages: MessageRecord[] = [];
  #seq = 0;
  readonly #hits: HitRecord[] = [];
  readonly #transferListeners = new Set<(record: TransferRecord) => void>();
  readonly #oauth: OAuthServer;
  #authRefusal: AuthRefusal | undefined;
  readonly #loadLimiter: LoadLimiter;
  #port = 0;
  #closing: Promise<void> | undefined;

  constructor(options: SimulatorOptions) {
    this.#now = options.now ?? Date.now;
    const seed = options.portal ?? demoPortal();
    this.#portal = new PortalState(seed, this.#now);
    this.#oauth = new OAuthServer(seed.apps ?? [], {
      now: this.#now,
      accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds ?? 3600,
      refreshTokenLifetimeSeconds: options.refreshTokenLifetimeSeconds ?? 180 * 24 * 3600,
      refreshKillsAccessToken: options.refreshKillsAccessToken ?? true,
      endpoints: () => ({
        clientEndpoint: `${this.url}/rest/`,
        serverEndpoint: `${this.url}/rest/`,
        domain: `127.0.0.1:${this.#port}`,
      }),
    });
    this.#loadLimiter = new LoadLimiter(
      options.operatingTimeLimitSeconds ?? DEFAULT_OPERATING_LIMIT_SECONDS,
      this.#now,
    );
    const rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
    this.#limiter = rateLimit === false ? undefined : new RateLimiter(rateLimit, this.#now);
  }

  listen(port: number): Promise<void> {
    const server = createServer((req, res) => {
      const handled = server === this.#servers.at(-1) ? this.#handle(req, res) : this.#redirect(req, res);
      handled.catch(() => {
        if (res.headersSent) res.destroy();
        else send(res, jsonError(systemErrors.internal()));
      });
    });
    server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        this.#servers.push(server);
        this.#port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  async movePortal(): Promise<string> {
    await this.listen(0);
    return this.url;
  }

  /**
   * A renamed portal's old address (b24restdocs settings/how-to-call-rest-api/change-domen.md): every
   * /rest/ request gets 302 to the new address with the same path and query. The token endpoint
   * stands in for oauth.bitrix.info, which does not move, so it keeps answering.
   */
  async #redirect(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? "/";
    if (!target.startsWith("/rest/")) return this.#handle(req, res);
    req.resume();
    res.writeHead(302, { location: `${this.url}${target}`, "content-length": 0 });
    res.end();
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

  get messages(): readonly MessageRecord[] {
    return this.#messages;
  }

  holdLock(chatId: number, options: { times?: number } = {}): void {
    const times = options.times ?? 1;
    if (!(Number.isInteger(times) && times > 0))
      throw new RangeError("lock times must be a positive integer");
    this.#portal.holdLock(chatId, times);
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

  answer(chatId: number, userId: number): boolean {
    return this.#portal.chats.answer(chatId, userId);
  }

  offer(chatId: number, userId: number): boolean {
    return this.#portal.chats.offer(chatId, userId);
  }

  finish(chatId: number): boolean {
    return this.#portal.chats.finish(chatId);
  }

  get tokenUrl(): string {
    return `${this.url}/oauth/token/`;
  }

  get tokenRequests(): readonly TokenRequestRecord[] {
    return this.#oauth.requests;
  }

  installApp(clientId?: string): TokenGrant {
    return this.#oauth.install(this.#appId(clientId));
  }

  revokeApp(clientId?: string): void {
    this.#oauth.revokeApp(this.#appId(clientId));
  }

  liveRefreshTokens(): string[] {
    return this.#oauth.liveRefreshTokens();
  }

  #appId(clientId: string | undefined): string {
    const id = clientId ?? this.#oauth.firstApp?.clientId;
    if (id === undefined) throw new Error("the portal has no app; add one to the seed's apps");
    return id;
  }

  addWebhook(webhook: WebhookSeed): void {
    this.#portal.addWebhook(webhook);
  }

  revokeWebhook(code: string): void {
    this.#portal.revokeWebhook(code);
  }

  spendOperatingTime(method: string, seconds: number, clientId?: string): void {
    const caller: Caller =
      clientId === undefined
        ? { kind: "webhook", userId: this.#portal.defaultWebhook?.userId ?? 0, scopes: [] }
        : { kind: "app", clientId, userId: 0, scopes: [] }; // LoadLimiter counts an app by its client id alone
    this.#loadLimiter.spend(caller, method.toLowerCase(), seconds);
  }

  refuseAuth(refusal: AuthRefusal | undefined): void {
    this.#authRefusal = refusal;
  }

  expireAppPayment(clientId?: string): void {
    this.#oauth.expirePayment(this.#appId(clientId));
  }

  setAppCardScopes(scopes: readonly string[], clientId?: string): void {
    this.#oauth.setCardScopes(this.#appId(clientId), scopes);
  }

  injectFault(fault: Fault, options?: FaultOptions): void {
    this.#faults.add(fault, options);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  reset(): void {
    this.#ledger.length = 0;
    this.#messages.length = 0;
    this.#seq = 0;
    this.#hits.length = 0;
    this.#oauth.requests.length = 0;
    this.#faults.clear();
    this.#authRefusal = undefined;
    this.#loadLimiter.reset();
    this.#oauth.resetApps();
    this.#limiter?.reset();
    this.#portal.restoreChats();
  }

  close(): Promise<void> {
    if (!this.#closing) {
      for (const wake of this.#wakeSleepers) wake();
      this.#closing = Promise.all(
        this.#servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      ).then(() => undefined);
      for (const socket of this.#sockets) socket.destroy();
    }
    return this.#closing;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = this.#now();
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const route = parseRoute(url.pathname);
    if (route.kind === "oauth-token") return this.#tokenEndpoint(req, res, url);
    const taken = this.#faults.take(route.method);
    const fault = taken?.fault;
    const executes = taken?.executes === true && fault?.kind !== "latency";

    if (!executes && (fault?.kind === "reset" || fault?.kind === "hang")) {
      this.#loseAnswer(req, route.method, fault.kind);
      return;
    }

    const body = await readBody(req);
    if (body.kind === "aborted" || this.#closing) return;
    if (fault?.kind === "latency") {
      await this.#sleep(fault.ms);
      if (this.#closing) return;
    }

    let answer: Answer;
    if (body.kind === "too-large") {
      answer = { status: 413, contentType: "text/html", body: htmlErrorPage(413) };
    } else if (
      fault &&
      fault.kind !== "latency" &&
      fault.kind !== "reset" &&
      fault.kind !== "hang" &&
      !executes
    ) {
      answer = faultAnswer(fault, timeEnvelope(started, this.#now()));
    } else {
      answer = this.#answer(route, url, req, body.body, started);
      // After execution: the portal did the work, the caller gets the fault instead of its answer.
      if (fault && fault.kind !== "latency") {
        if (fault.kind === "reset" || fault.kind === "hang") {
          this.#loseAnswer(req, route.method, fault.kind);
          return;
        }
        answer = faultAnswer(fault, timeEnvelope(started, this.#now()));
      }
    }
    send(res, answer);
    this.#record(route.method, answer.status, answer.error, fault?.kind);
  }

  /** reset: the connection is destroyed; hang: left unanswered until close() destroys it. */
  #loseAnswer(req: IncomingMessage, method: string, kind: "reset" | "hang"): void {
    this.#record(method, 0, undefined, kind);
    if (kind === "reset") req.socket.destroy();
  }

  /** Authentication, rate limit, then the method: the order a portal applies them in. */
  #answer(route: Route, url: URL, req: IncomingMessage, rawBody: Buffer, started: number): Answer {
    if (route.kind === "outside" || route.kind === "oauth-token") {
      return { status: 404, contentType: "text/html", body: htmlErrorPage(404) };
    }
    try {
      const query = parseQueryString(url.search.slice(1));
      const body = parseBody(req.headers["content-type"], rawBody);
      const params = body.ok ? mergeParams(query, body.params) : query;

      // The method is looked up before authentication (contract.md: ERROR_METHOD_NOT_FOUND before auth).
      if (route.kind === "rest-unknown") throw systemErrors.methodNotFound();
      if (route.method !== "batch" && !METHODS.has(route.method)) throw systemErrors.methodNotFound();
      const caller = this.#authenticate(route, params);
      // limits.md: one bucket per portal and source IP, shared by every webhook and app calling from it.
      if (this.#limiter && !this.#limiter.tryAdd(req.socket.remoteAddress ?? "unknown")) {
        throw systemErrors.queryLimitExceeded();
      }
      if (!body.ok) throw systemErrors.badArgument(body.reason);

      const context: MethodContext = {
        portal: this.#portal,
        caller,
        now: this.#now,
        recordTransfer: (record) => this.#recordTransfer({ seq: ++this.#seq, ...record }),
        recordMessage: (record) => {
          this.#messages.push({ seq: ++this.#seq, ...record });
        },
        checkOperatingTime: (method) => this.#loadLimiter.check(caller, method),
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

  /** A webhook by its path, or an application by its `auth` access token. */
  #authenticate(
    route: Extract<Route, { kind: "webhook" | "token" }>,
    params: Record<string, unknown>,
  ): Caller {
    if (route.kind === "token") {
      if (!isGiven(params.auth)) throw systemErrors.noAuthFound();
      const check = this.#oauth.authenticate(String(params.auth));
      if (!check.ok) {
        throw check.error === "expired_token" ? systemErrors.expiredToken() : systemErrors.invalidToken();
      }
      this.#refuseValidCredentials("app");
      return {
        kind: "app",
        clientId: check.app.clientId,
        userId: check.app.userId ?? 1,
        scopes: check.app.scopes,
      };
    }
    const webhook = this.#portal.findWebhook(route.userId, route.code);
    if (!webhook) throw systemErrors.invalidCredentials();
    this.#refuseValidCredentials("webhook");
    return { kind: "webhook", userId: webhook.userId, scopes: webhook.scopes };
  }

  /** The portal's own refusal of credentials that checked out (onRestCheckAuth), if one is set and applies. */
  #refuseValidCredentials(caller: "webhook" | "app"): void {
    const refused = this.#authRefusal && authRefusalError(this.#authRefusal, caller);
    if (refused) throw refused;
  }

  /** `/oauth/token/`: GET with a query (as documented) or POST with a form or JSON body. */
  async #tokenEndpoint(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const body = await readBody(req);
    if (body.kind === "aborted" || this.#closing) return;
    let params = parseQueryString(url.search.slice(1));
    if (body.kind === "ok") {
      const parsed = parseBody(req.headers["content-type"], body.body);
      if (parsed.ok) params = mergeParams(params, parsed.params);
    }
    const answer = this.#oauth.token(params);
    send(res, { status: answer.status, contentType: JSON_TYPE, body: JSON.stringify(answer.body) });
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

/** `/rest/<userId>/<code>/<method>[.json]` (webhook), `/rest/<method>` (OAuth token), `/oauth/token/`. */
function parseRoute(pathname: string): Route {
  if (/^\/oauth\/token\/?$/.test(pathname)) return { kind: "oauth-token", method: "" };
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
