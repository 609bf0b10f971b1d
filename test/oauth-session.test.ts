/**
 * OAuthSession on its own, with in-memory fakes for Secrets Manager's versions, the secret's read and
 * the token endpoint. The end-to-end OAuth tests prove the pieces fit; these pin the session's own
 * arithmetic (renewal margin, persist back-off, winner polling) and its version bookkeeping exactly.
 *
 * Time: fake timers, so the session's sleeps cost nothing. Date.now() starts at 0 and the session's
 * injected clock is T0 + Date.now(): a session that ignored its `now` option would see 1970 and never
 * find a token due, so the tests below would notice.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SecretVersions } from "../lambda/aws/secret-versions.ts";
import { TransferError } from "../lambda/domain/problems.ts";
import type { PortalEndpoint } from "../lambda/portals/connection.ts";
import { type OAuthSecret, parseOAuthDocument } from "../lambda/portals/oauth/secret.ts";
import { OAuthSession } from "../lambda/portals/oauth/session.ts";
import type { RefreshGrant, RefreshOutcome, TokenAnswer } from "../lambda/portals/oauth/token-endpoint.ts";
import { RENEWAL_MARGIN_MS } from "../lambda/portals/oauth/tokens.ts";
import { captureLogs } from "./support/capture-logs.ts";

/** Whole seconds, so the secret's `expiresAt` (unix seconds) maps to exact milliseconds. */
const T0 = Date.UTC(2030, 0, 1);
const HOUR = 3_600_000;
const SECRET_ID = "portal-a-secret";
const REST = "https://portal.example/rest/";
const FAR = 60_000;

const now = () => T0 + Date.now();
const travelTo = (at: number) => vi.setSystemTime(at - T0);

function oauthDocument(
  version: string,
  options: { expiresAt?: number; serverEndpoint?: string } = {},
): Record<string, unknown> {
  return {
    oauth: {
      domain: "portal.example",
      clientId: "app-id",
      clientSecret: "app-secret",
      accessToken: `access-${version}`,
      refreshToken: `refresh-${version}`,
      expiresAt: Math.floor((options.expiresAt ?? T0 + HOUR) / 1000),
      ...(options.serverEndpoint === undefined ? {} : { serverEndpoint: options.serverEndpoint }),
    },
    // Not the session's: every rewrite must keep it.
    note: "keep me",
  };
}

const awsError = (name: string) => Object.assign(new Error(name), { name });

/**
 * Secrets Manager's versions of one secret, with AWSCURRENT moved by compare-and-swap as the real
 * UpdateSecretVersionStage does. Faults are queued per operation and used up one call at a time.
 */
class FakeStore implements SecretVersions {
  readonly values = new Map<string, string>();
  current: string;
  readonly staged: { versionId: string; value: string; at: number }[] = [];
  readonly promoted: { versionId: string; expectedCurrent: string; at: number }[] = [];
  readonly reads: { at: number; versionId: string }[] = [];
  describes = 0;
  readonly stageFaults: "throw"[] = [];
  /** "throw": nothing happened; "throw-after": the move happened, but its answer was lost. */
  readonly promoteFaults: ("throw" | "throw-after")[] = [];
  /** "throw", or a version to report instead of the truth (undefined: no AWSCURRENT seen). */
  readonly describeFaults: ({ kind: "throw" } | { kind: "report"; version: string | undefined })[] = [];
  /** Scripted reads: a version to return instead of the current one (a stale cache), or a failure. */
  readonly readFaults: ({ kind: "throw" } | { kind: "version"; version: string })[] = [];
  /** Runs before each read: lets another container write while the session is polling. */
  beforeRead: ((count: number) => void) | undefined;
  #written = 0;

  constructor(initial: Record<string, unknown>) {
    this.values.set("v1", JSON.stringify(initial));
    this.current = "v1";
  }

  /** Another container stores its pair: a new version becomes current. */
  write(document: Record<string, unknown>): string {
    this.#written += 1;
    const versionId = `other-${this.#written}`;
    this.values.set(versionId, JSON.stringify(document));
    this.current = versionId;
    return versionId;
  }

  secret(versionId: string): OAuthSecret {
    const value = this.values.get(versionId);
    if (value === undefined) throw new Error(`no version ${versionId}`);
    return parseOAuthDocument(JSON.parse(value) as Record<string, unknown>, versionId, {
      allowHttpLoopback: false,
    });
  }

  document(versionId: string): Record<string, unknown> {
    return JSON.parse(this.values.get(versionId) as string) as Record<string, unknown>;
  }

  read = async (): Promise<OAuthSecret> => {
    this.beforeRead?.(this.reads.length + 1);
    const fault = this.readFaults.shift();
    if (fault?.kind === "throw") throw awsError("InternalServiceError");
    const versionId = fault?.kind === "version" ? fault.version : this.current;
    this.reads.push({ at: now(), versionId });
    return this.secret(versionId);
  };

  async stage(secretId: string, versionId: string, value: string): Promise<void> {
    expect(secretId).toBe(SECRET_ID);
    this.staged.push({ versionId, value, at: now() });
    if (this.stageFaults.shift()) throw awsError("ServiceUnavailable");
    this.values.set(versionId, value);
  }

  async promote(secretId: string, versionId: string, expectedCurrent: string): Promise<void> {
    expect(secretId).toBe(SECRET_ID);
    this.promoted.push({ versionId, expectedCurrent, at: now() });
    const fault = this.promoteFaults.shift();
    if (fault === "throw") throw awsError("ThrottlingException");
    if (!this.values.has(versionId)) throw awsError("ResourceNotFoundException");
    if (this.current !== expectedCurrent) throw awsError("InvalidParameterException");
    this.current = versionId;
    if (fault === "throw-after") throw awsError("TimeoutError");
  }

  async currentVersion(secretId: string): Promise<string | undefined> {
    expect(secretId).toBe(SECRET_ID);
    this.describes += 1;
    const fault = this.describeFaults.shift();
    if (fault?.kind === "throw") throw awsError("InternalServiceError");
    if (fault?.kind === "report") return fault.version;
    return this.current;
  }
}

type Scripted = RefreshOutcome | (() => RefreshOutcome | Promise<RefreshOutcome>);

/** The token endpoint: answers from a queue, else issues pair n (`access-n`/`refresh-n`, one hour). */
class FakeRefresh {
  readonly grants: { grant: RefreshGrant; deadline: number; at: number }[] = [];
  readonly script: Scripted[] = [];

  refresh = async (grant: RefreshGrant, deadline: number): Promise<RefreshOutcome> => {
    this.grants.push({ grant, deadline, at: now() });
    const next = this.script.shift();
    if (next === undefined) return renewed({});
    return typeof next === "function" ? next() : next;
  };

  get count(): number {
    return this.grants.length;
  }
}

let issued = 0;
function renewed(answer: Partial<TokenAnswer>): RefreshOutcome {
  issued += 1;
  return {
    ok: true,
    answer: {
      accessToken: `access-${issued}`,
      refreshToken: `refresh-${issued}`,
      expiresIn: 3600,
      ...answer,
    },
  };
}

const deadGrant = () =>
  ({
    ok: false,
    failure: "dead-grant",
    error: new TransferError("PORTAL_MISCONFIGURED", {
      detail: "invalid_grant",
      bitrix24: { error: "invalid_grant" },
    }),
  }) as const;

const transient = () =>
  ({
    ok: false,
    failure: "transient",
    error: new TransferError("UPSTREAM_ERROR", { detail: "HTTP 503" }),
  }) as const;

const rejection = (error = "expired_token") =>
  new TransferError("UPSTREAM_ERROR", { detail: "refused", bitrix24: { error } });

function setup(options: { expiresAt?: number; serverEndpoint?: string; allowHttpLoopback?: boolean } = {}) {
  const store = new FakeStore(oauthDocument("v1", options));
  const refresher = new FakeRefresh();
  const session = new OAuthSession({
    portal: "portal-a",
    secretId: SECRET_ID,
    initial: store.secret("v1"),
    read: store.read,
    versions: store,
    refresh: refresher.refresh,
    allowHttpLoopback: options.allowHttpLoopback ?? false,
    now,
  });
  return { store, refresher, session };
}

/** A session whose pair expires at T0, with the clock at T0: the next call must renew it. */
function dueSession(options: { serverEndpoint?: string; allowHttpLoopback?: boolean } = {}) {
  const context = setup({ expiresAt: T0, ...options });
  travelTo(T0);
  return context;
}

/** Lets every sleep run to its end, then gives the call's result (or throws its error). */
async function settle<T>(call: Promise<T>): Promise<T> {
  const outcome = call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await vi.runAllTimersAsync();
  const result = await outcome;
  if ("error" in result) throw result.error;
  return result.value;
}

/** Another container stores its renewed pair ("winner") just before the store's read number `count`. */
function winnerBeforeRead(store: FakeStore, count: number) {
  store.beforeRead = (n) => {
    if (n === count) store.write(oauthDocument("winner", { expiresAt: T0 + HOUR }));
  };
}

const endpointWith = (auth: string, restBase = REST): PortalEndpoint => ({ restBase, auth, access: {} });

let logs: ReturnType<typeof captureLogs>;

interface LogLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

function logged(fragment: string): LogLine[] {
  return logs
    .text()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => line.message.includes(fragment));
}

beforeEach(() => {
  issued = 0;
  vi.useFakeTimers({ now: 0 });
  logs = captureLogs();
});

afterEach(() => {
  logs.stop();
  vi.useRealTimers();
});

describe("endpoint(): renewing before the token expires", () => {
  it("uses a pair that is not yet due without refreshing or reading", async () => {
    const { store, refresher, session } = setup({ expiresAt: T0 + HOUR });
    travelTo(T0 + HOUR - RENEWAL_MARGIN_MS - 1);
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-v1"));
    expect(refresher.count).toBe(0);
    expect(store.reads).toEqual([]);
  });

  it("renews a pair exactly RENEWAL_MARGIN_MS before it expires, passing the deadline on", async () => {
    const { refresher, session } = setup({ expiresAt: T0 + HOUR });
    travelTo(T0 + HOUR - RENEWAL_MARGIN_MS);
    const deadline = now() + FAR;
    expect(await settle(session.endpoint(deadline))).toStrictEqual(endpointWith("access-1"));
    expect(refresher.grants.map((g) => g.deadline)).toEqual([deadline]);
    expect(logged("OAuth tokens renewed")).toMatchObject([{ level: "INFO", portal: "portal-a" }]);
  });

  it("still uses the old token when the renewal fails before it has expired", async () => {
    const { refresher, session } = setup({ expiresAt: T0 + HOUR });
    travelTo(T0 + HOUR - 1);
    refresher.script.push(transient());
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-v1"));
    // The next call tries again.
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-1"));
    expect(refresher.count).toBe(2);
  });

  it("throws the renewal's error once the token has expired", async () => {
    const { refresher, session } = setup({ expiresAt: T0 + HOUR });
    travelTo(T0 + HOUR);
    const failure = transient();
    refresher.script.push(failure);
    await expect(settle(session.endpoint(now() + FAR))).rejects.toBe(failure.error);
  });

  it("does not poll for a winner after a failure other than a dead grant", async () => {
    const { store, refresher, session } = dueSession();
    const failure = transient();
    refresher.script.push(failure);
    await expect(settle(session.endpoint(now() + FAR))).rejects.toBe(failure.error);
    // One read before refreshing (another container's pair?), none after.
    expect(store.reads).toHaveLength(1);
  });
});

describe("the refresh grant", () => {
  it("carries the app's credentials, the current refresh token and the pair's server_endpoint", async () => {
    const { refresher, session } = dueSession({ serverEndpoint: "https://oauth.bitrix24.tech/rest/" });
    await settle(session.endpoint(now() + FAR));
    expect(refresher.grants[0]?.grant).toStrictEqual({
      clientId: "app-id",
      clientSecret: "app-secret",
      refreshToken: "refresh-v1",
      serverEndpoint: "https://oauth.bitrix24.tech/rest/",
    });
  });

  it("names no server_endpoint when the pair has none", async () => {
    const { refresher, session } = dueSession();
    await settle(session.endpoint(now() + FAR));
    expect(refresher.grants[0]?.grant).toStrictEqual({
      clientId: "app-id",
      clientSecret: "app-secret",
      refreshToken: "refresh-v1",
    });
    expect("serverEndpoint" in (refresher.grants[0]?.grant ?? {})).toBe(false);
  });

  it("uses the renewed refresh token for the next renewal", async () => {
    const { refresher, session } = dueSession();
    await settle(session.endpoint(now() + FAR));
    travelTo(T0 + HOUR - RENEWAL_MARGIN_MS);
    await settle(session.endpoint(now() + FAR));
    expect(refresher.grants.map((g) => g.grant.refreshToken)).toEqual(["refresh-v1", "refresh-1"]);
  });
});

describe("recover()", () => {
  it("answers a call made with an older token with the current endpoint, refreshing nothing", async () => {
    const { store, refresher, session } = setup({ expiresAt: T0 + HOUR });
    const other = store.write(oauthDocument("v2", { expiresAt: T0 + 2 * HOUR }));
    session.offer(store.secret(other));
    const error = new TransferError("UPSTREAM_ERROR", { detail: "boom" });
    expect(await settle(session.recover(endpointWith("access-v1"), error, now() + FAR))).toStrictEqual(
      endpointWith("access-v2"),
    );
    expect(refresher.count).toBe(0);
    expect(store.reads).toEqual([]);
  });

  it.each(["expired_token", "invalid_token"])("renews a token Bitrix24 refused with %s", async (code) => {
    const { refresher, session } = setup({ expiresAt: T0 + HOUR });
    const used = await settle(session.endpoint(now() + FAR));
    expect(await settle(session.recover(used, rejection(code), now() + FAR))).toStrictEqual(
      endpointWith("access-1"),
    );
    expect(refresher.count).toBe(1);
  });

  it("re-reads the secret after another error and says so when nothing changed", async () => {
    const { store, refresher, session } = setup({ expiresAt: T0 + HOUR });
    const used = await settle(session.endpoint(now() + FAR));
    const error = new TransferError("PORTAL_MISCONFIGURED", {
      detail: "no",
      bitrix24: { error: "ACCESS_DENIED" },
    });
    expect(await settle(session.recover(used, error, now() + FAR))).toBeUndefined();
    expect(store.reads).toHaveLength(1);
    expect(refresher.count).toBe(0);
  });

  it("re-reads the secret after another error and returns a pair another container stored", async () => {
    const { store, refresher, session } = setup({ expiresAt: T0 + HOUR });
    const used = await settle(session.endpoint(now() + FAR));
    store.write(oauthDocument("v2", { expiresAt: T0 + 2 * HOUR }));
    const error = new TransferError("PORTAL_MISCONFIGURED", { detail: "no" });
    expect(await settle(session.recover(used, error, now() + FAR))).toStrictEqual(endpointWith("access-v2"));
    expect(refresher.count).toBe(0);
  });
});

describe("one renewal at a time", () => {
  it("lets concurrent endpoint() calls on a due token share one refresh", async () => {
    const { store, refresher, session } = dueSession();
    const results = await settle(Promise.all([1, 2, 3].map(() => session.endpoint(now() + FAR))));
    expect(results).toStrictEqual([1, 2, 3].map(() => endpointWith("access-1")));
    expect(refresher.count).toBe(1);
    // Only the first task reads before refreshing; the others see the token already replaced.
    expect(store.reads).toHaveLength(1);
  });

  it("lets concurrent recover() calls for a rejected token share one refresh", async () => {
    const { store, refresher, session } = setup({ expiresAt: T0 + HOUR });
    let release: () => void = () => undefined;
    refresher.script.push(
      () => new Promise((resolve) => (release = () => resolve(renewed({ accessToken: "access-slow" })))),
    );
    const used = endpointWith("access-v1");
    const calls = Promise.all([1, 2].map(() => session.recover(used, rejection(), now() + FAR)));
    await vi.runAllTimersAsync();
    expect(refresher.count).toBe(1);
    release();
    expect(await settle(calls)).toStrictEqual([endpointWith("access-slow"), endpointWith("access-slow")]);
    expect(refresher.count).toBe(1);
    expect(store.reads).toHaveLength(1);
  });

  it("does not let a failed renewal block the next one", async () => {
    const { refresher, session } = dueSession();
    const failure = transient();
    refresher.script.push(failure);
    const [first, second] = await settle(
      Promise.allSettled([session.endpoint(now() + FAR), session.endpoint(now() + FAR)]),
    );
    expect(first).toStrictEqual({ status: "rejected", reason: failure.error });
    expect(second).toStrictEqual({ status: "fulfilled", value: endpointWith("access-1") });
    expect(refresher.count).toBe(2);
  });
});

describe("before refreshing", () => {
  it("takes a newer version another container stored instead of refreshing", async () => {
    const { store, refresher, session } = dueSession();
    store.write(oauthDocument("v2", { expiresAt: T0 + HOUR }));
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-v2"));
    expect(refresher.count).toBe(0);
    expect(session.unsaved).toBe(false);
  });

  it("renews a newer version that is itself due on the next call, with its refresh token", async () => {
    const { store, refresher, session } = setup({ expiresAt: T0 });
    travelTo(T0 + 1000);
    store.write(oauthDocument("v2", { expiresAt: T0 + 1000 }));
    // The token to replace was v1's and the read replaced it: this call refreshes nothing.
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-v2"));
    expect(refresher.count).toBe(0);
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-1"));
    expect(refresher.grants.map((g) => g.grant.refreshToken)).toEqual(["refresh-v2"]);
  });
});

describe("storing a renewed pair", () => {
  it("stages the renewed document and promotes it over the version it was read from", async () => {
    const { store, session } = dueSession({ serverEndpoint: "https://oauth.bitrix.info/rest/" });
    await settle(session.endpoint(now() + FAR));
    expect(store.staged).toHaveLength(1);
    const staged = store.staged[0] as { versionId: string; value: string };
    expect(JSON.parse(staged.value)).toStrictEqual({
      oauth: {
        domain: "portal.example",
        clientId: "app-id",
        clientSecret: "app-secret",
        accessToken: "access-1",
        refreshToken: "refresh-1",
        expiresAt: (T0 + HOUR) / 1000,
        clientEndpoint: REST,
        serverEndpoint: "https://oauth.bitrix.info/rest/",
      },
      note: "keep me",
    });
    expect(store.promoted).toEqual([{ versionId: staged.versionId, expectedCurrent: "v1", at: T0 }]);
    expect(store.current).toBe(staged.versionId);
    expect(session.unsaved).toBe(false);
    expect(logged("saving renewed OAuth tokens failed")).toEqual([]);
    expect(logged("could NOT be saved")).toEqual([]);
  });

  it("ignores a late read of the version it replaced, and adopts a genuinely newer one", async () => {
    const { store, session } = dueSession();
    await settle(session.endpoint(now() + FAR));
    session.offer(store.secret("v1"));
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-1"));
    const newer = store.write(oauthDocument("v3", { expiresAt: T0 + 2 * HOUR }));
    const ours = store.staged[0]?.versionId as string;
    session.offer(store.secret(newer));
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-v3"));
    // The version it stored itself is retired too once it moves on: a cached read of it is stale.
    session.offer(store.secret(ours));
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-v3"));
  });

  it("ignores a read of the version it held before adopting another", async () => {
    const { store, session } = setup({ expiresAt: T0 + HOUR });
    const v2 = store.write(oauthDocument("v2", { expiresAt: T0 + HOUR }));
    session.offer(store.secret(v2));
    session.offer(store.secret("v1"));
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-v2"));
  });

  it("while the renewed pair is unsaved, ignores every read", async () => {
    const { store, session } = dueSession();
    store.stageFaults.push("throw", "throw", "throw");
    await settle(session.endpoint(now() + FAR));
    expect(session.unsaved).toBe(true);
    const newer = store.write(oauthDocument("v3", { expiresAt: T0 + 2 * HOUR }));
    session.offer(store.secret(newer));
    session.offer(store.secret("v1"));
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-1"));
    expect(session.unsaved).toBe(true);
  });

  it("reports a stage failure by operation and AWS error name", async () => {
    const { store, session } = dueSession();
    store.stageFaults.push("throw");
    await settle(session.endpoint(now() + FAR));
    expect(session.unsaved).toBe(false);
    expect(logged("saving renewed OAuth tokens failed")).toMatchObject([
      { level: "WARN", portal: "portal-a", operation: "PutSecretValue", error: "ServiceUnavailable" },
    ]);
    // The same version is written again: its id is the idempotency token.
    expect(store.staged.map((s) => s.at)).toEqual([T0, T0 + 200]);
    expect(new Set(store.staged.map((s) => s.versionId)).size).toBe(1);
  });
});

describe("a renewed pair that cannot be saved", () => {
  it("tries three times (waiting 200 then 400 ms), keeps the pair and retries after 2 s", async () => {
    const { store, session } = dueSession();
    store.stageFaults.push("throw", "throw", "throw", "throw");
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-1"));
    expect(store.staged.map((s) => s.at)).toEqual([T0, T0 + 200, T0 + 600]);
    // No wait after the last attempt.
    expect(now()).toBe(T0 + 600);
    expect(session.unsaved).toBe(true);
    expect(logged("could NOT be saved")).toMatchObject([{ level: "ERROR", portal: "portal-a", failures: 1 }]);
    expect(logged("saving renewed OAuth tokens failed")).toHaveLength(3);

    travelTo(T0 + 600 + 1999);
    await settle(session.endpoint(now() + FAR));
    expect(store.staged).toHaveLength(3);

    // At retryAt one attempt is made; it fails too.
    travelTo(T0 + 600 + 2000);
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-1"));
    expect(store.staged).toHaveLength(4);
    expect(logged("could NOT be saved").map((l) => l.failures)).toEqual([1, 2]);

    // The next one succeeds, over the version the pair was renewed from.
    travelTo(T0 + 2600 + 4000);
    await settle(session.endpoint(now() + FAR));
    expect(store.staged).toHaveLength(5);
    expect(session.unsaved).toBe(false);
    expect(store.promoted).toMatchObject([{ expectedCurrent: "v1" }]);
    expect(store.current).toBe(store.staged[0]?.versionId);
  });

  it("doubles the back-off after each failed retry up to 60 s", async () => {
    const { store, session } = dueSession();
    store.stageFaults.push(...Array<"throw">(20).fill("throw"));
    await settle(session.endpoint(now() + FAR));
    let retryAt = T0 + 600 + 2000;
    for (const backOff of [4000, 8000, 16_000, 32_000, 60_000, 60_000]) {
      const before = store.staged.length;
      travelTo(retryAt - 1);
      await settle(session.endpoint(now() + FAR));
      expect(store.staged).toHaveLength(before);
      travelTo(retryAt);
      await settle(session.endpoint(now() + FAR));
      expect(store.staged).toHaveLength(before + 1);
      retryAt += backOff;
    }
    expect(logged("could NOT be saved").map((l) => l.failures)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("makes one attempt when the deadline leaves no room for the 200 ms wait", async () => {
    const { store, session } = dueSession();
    store.stageFaults.push("throw", "throw", "throw");
    await settle(session.endpoint(T0 + 399));
    expect(store.staged.map((s) => s.at)).toEqual([T0]);
    expect(session.unsaved).toBe(true);
    expect(logged("could NOT be saved")).toMatchObject([{ failures: 1 }]);
  });

  it("makes a second attempt when the deadline just allows it, but no third", async () => {
    const { store, session } = dueSession();
    store.stageFaults.push("throw", "throw", "throw");
    await settle(session.endpoint(T0 + 400));
    expect(store.staged.map((s) => s.at)).toEqual([T0, T0 + 200]);
    expect(session.unsaved).toBe(true);
  });

  it("saves once when concurrent calls all find the retry due", async () => {
    const { store, session } = dueSession();
    store.stageFaults.push("throw", "throw", "throw");
    await settle(session.endpoint(now() + FAR));
    travelTo(T0 + 600 + 2000);
    const both = await settle(Promise.all([session.endpoint(now() + FAR), session.endpoint(now() + FAR)]));
    expect(both[0]).toStrictEqual(both[1]);
    expect(session.unsaved).toBe(false);
    expect(store.staged).toHaveLength(4);
    expect(store.promoted).toHaveLength(1);
    // The second call found the pair saved and tried nothing: only the first three failures were logged.
    expect(logged("saving renewed OAuth tokens failed")).toHaveLength(3);
    expect(logged("could NOT be saved")).toHaveLength(1);
  });

  it("renews an unsaved pair with its own refresh token, keeps the failure count and the base version", async () => {
    const { store, refresher, session } = dueSession();
    store.stageFaults.push(...Array<"throw">(4).fill("throw"));
    await settle(session.endpoint(now() + FAR));
    const readsBefore = store.reads.length;
    // Bitrix24 refuses the unsaved token: it is renewed without a read (the secret's pair is dead).
    expect(
      await settle(session.recover(endpointWith("access-1"), rejection(), T0 + 600 + 399)),
    ).toStrictEqual(endpointWith("access-2"));
    expect(store.reads).toHaveLength(readsBefore);
    expect(refresher.grants.map((g) => g.grant.refreshToken)).toEqual(["refresh-v1", "refresh-1"]);
    expect(logged("could NOT be saved").map((l) => l.failures)).toEqual([1, 2]);
    // The second renewal's document is a new version.
    expect(new Set(store.staged.map((s) => s.versionId)).size).toBe(2);

    travelTo(T0 + 600 + 4000);
    await settle(session.endpoint(now() + FAR));
    expect(session.unsaved).toBe(false);
    expect(store.promoted).toMatchObject([{ expectedCurrent: "v1" }]);
    expect(store.current).toBe(store.staged.at(-1)?.versionId);
    expect(store.secret(store.current).pair.accessToken).toBe("access-2");
  });
});

describe("when the promote call fails", () => {
  it("counts the pair as stored when the move happened anyway", async () => {
    const { store, session } = dueSession();
    store.promoteFaults.push("throw-after");
    await settle(session.endpoint(now() + FAR));
    expect(session.unsaved).toBe(false);
    expect(store.staged).toHaveLength(1);
    expect(store.promoted).toHaveLength(1);
    expect(store.reads).toHaveLength(1);
    expect(logged("saving renewed OAuth tokens failed")).toMatchObject([
      { operation: "UpdateSecretVersionStage", error: "TimeoutError" },
    ]);
    // Stored: the version it replaced is retired.
    session.offer(store.secret("v1"));
    expect(await settle(session.endpoint(now() + FAR))).toMatchObject({
      auth: store.secret(store.current).pair.accessToken,
    });
  });

  it("tries again later when AWSCURRENT is still the base version", async () => {
    const { store, session } = dueSession();
    store.promoteFaults.push("throw");
    await settle(session.endpoint(now() + FAR));
    expect(store.promoted.map((p) => [p.at, p.expectedCurrent])).toEqual([
      [T0, "v1"],
      [T0 + 200, "v1"],
    ]);
    expect(session.unsaved).toBe(false);
    // A failed check reads nothing.
    expect(store.reads).toHaveLength(1);
  });

  it("tries again later when no version is current", async () => {
    const { store, session } = dueSession();
    store.promoteFaults.push("throw");
    store.describeFaults.push({ kind: "report", version: undefined });
    await settle(session.endpoint(now() + FAR));
    expect(store.promoted.map((p) => p.at)).toEqual([T0, T0 + 200]);
    expect(store.reads).toHaveLength(1);
    expect(session.unsaved).toBe(false);
  });

  it("tries again later when the check itself fails", async () => {
    const { store, session } = dueSession();
    store.promoteFaults.push("throw");
    store.describeFaults.push({ kind: "throw" });
    await settle(session.endpoint(now() + FAR));
    expect(store.promoted.map((p) => p.at)).toEqual([T0, T0 + 200]);
    expect(logged("saving renewed OAuth tokens failed").map((l) => l.operation)).toEqual([
      "UpdateSecretVersionStage",
      "DescribeSecret",
    ]);
    expect(session.unsaved).toBe(false);
  });

  it("replaces an earlier write of the same renewal chain that became current unseen", async () => {
    const { store, session } = dueSession();
    // First renewal: its move happens but both answers are lost; the deadline allows one attempt.
    store.promoteFaults.push("throw-after");
    store.describeFaults.push({ kind: "throw" });
    await settle(session.endpoint(T0 + 399));
    expect(session.unsaved).toBe(true);
    const first = store.staged[0]?.versionId as string;
    expect(store.current).toBe(first);

    // Second renewal (Bitrix24 refused the first's token): its move from v1 fails, AWSCURRENT is the
    // first write, so it moves from there.
    expect(await settle(session.recover(endpointWith("access-1"), rejection(), now() + FAR))).toStrictEqual(
      endpointWith("access-2"),
    );
    const second = store.staged[1]?.versionId as string;
    expect(store.promoted.map((p) => [p.versionId, p.expectedCurrent])).toEqual([
      [first, "v1"],
      [second, "v1"],
      [second, first],
    ]);
    expect(store.current).toBe(second);
    expect(session.unsaved).toBe(false);
    expect(logged("another writer")).toEqual([]);
    // The first write, which it moved past, is retired; so is v1, the version the chain began from,
    // which a container's cached read still holds (regression: v1 was forgotten when the base moved).
    session.offer(store.secret(first));
    session.offer(store.secret("v1"));
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-2"));
  });

  it("never takes a version staged earlier in the chain once a later one is stored", async () => {
    const { store, session } = dueSession();
    // First write: staged, its move refused while v1 is still current; one attempt fits the deadline.
    store.promoteFaults.push("throw");
    await settle(session.endpoint(T0 + 399));
    const first = store.staged[0]?.versionId as string;
    expect(store.current).toBe("v1");
    // Second renewal: stored straight over v1.
    await settle(session.recover(endpointWith("access-1"), rejection(), now() + FAR));
    expect(store.promoted.at(-1)).toMatchObject({ expectedCurrent: "v1" });
    expect(session.unsaved).toBe(false);
    session.offer(store.secret(first));
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-2"));
  });

  it("remembers every earlier write of a longer chain", async () => {
    const { store, session } = dueSession();
    // First write becomes current unseen; the second write's stage fails; the third finds the first.
    store.promoteFaults.push("throw-after");
    store.describeFaults.push({ kind: "throw" });
    await settle(session.endpoint(T0 + 399));
    store.stageFaults.push("throw");
    await settle(session.recover(endpointWith("access-1"), rejection(), T0 + 399));
    expect(session.unsaved).toBe(true);
    await settle(session.recover(endpointWith("access-2"), rejection(), now() + FAR));
    const [first, , third] = store.staged.map((s) => s.versionId);
    expect(store.current).toBe(third);
    expect(store.promoted.at(-1)).toMatchObject({ versionId: third, expectedCurrent: first });
    expect(session.unsaved).toBe(false);
  });

  it("retires the chain's earlier writes too when another writer wins", async () => {
    const { store, refresher, session } = dueSession();
    // First renewal: its move happens but both answers are lost, so the pair stays unsaved.
    store.promoteFaults.push("throw-after");
    store.describeFaults.push({ kind: "throw" });
    await settle(session.endpoint(T0 + 399));
    const first = store.staged[0]?.versionId as string;
    expect(store.current).toBe(first);
    // Second renewal (our token refused): another container stores its pair meanwhile, and wins.
    let theirs = "";
    refresher.script.push(() => {
      theirs = store.write(oauthDocument("theirs", { expiresAt: T0 + HOUR }));
      return renewed({ accessToken: "access-ours" });
    });
    await settle(session.recover(endpointWith("access-1"), rejection(), now() + FAR));
    expect(store.current).toBe(theirs);
    expect(logged("another writer replaced")).toHaveLength(1);
    // A cached read of our first write (whose refresh token our second renewal used up) is history.
    session.offer(store.secret(first));
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-theirs"));
  });

  it("adopts another writer's pair when theirs became current first", async () => {
    const { store, refresher, session } = dueSession();
    let theirs = "";
    // While our refresh is in flight, another container stores its own pair.
    refresher.script.push(() => {
      theirs = store.write(oauthDocument("theirs", { expiresAt: T0 + HOUR }));
      return renewed({ accessToken: "access-ours" });
    });
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-theirs"));
    expect(session.unsaved).toBe(false);
    expect(store.current).toBe(theirs);
    expect(store.promoted).toHaveLength(1);
    expect(logged("another writer replaced")).toMatchObject([{ level: "WARN", portal: "portal-a" }]);
    // The version our pair was renewed from is retired.
    session.offer(store.secret("v1"));
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-theirs"));
  });

  it("keeps its pair when the winner's read is the base version (a stale read)", async () => {
    const { store, refresher, session } = dueSession();
    refresher.script.push(() => {
      store.write(oauthDocument("theirs", { expiresAt: T0 + HOUR }));
      return renewed({ accessToken: "access-ours" });
    });
    store.readFaults.push({ kind: "version", version: "v1" });
    store.readFaults.push({ kind: "version", version: "v1" });
    await settle(session.endpoint(T0 + 399));
    expect(session.unsaved).toBe(true);
    expect(logged("another writer")).toEqual([]);
    expect(logged("could NOT be saved")).toMatchObject([{ failures: 1 }]);
    expect(await settle(session.endpoint(T0 + 399))).toStrictEqual(endpointWith("access-ours"));
  });

  it("keeps its pair when the winner's read is a version it retired", async () => {
    const { store, refresher, session } = dueSession();
    await settle(session.endpoint(now() + FAR));
    const mine = store.current;
    // The next renewal loses to another writer, but the read after it returns the retired v1.
    travelTo(T0 + HOUR - RENEWAL_MARGIN_MS);
    refresher.script.push(() => {
      store.write(oauthDocument("theirs", { expiresAt: T0 + 2 * HOUR }));
      return renewed({ accessToken: "access-ours" });
    });
    store.readFaults.push({ kind: "version", version: mine });
    store.readFaults.push({ kind: "version", version: "v1" });
    await settle(session.endpoint(now() + 399));
    expect(session.unsaved).toBe(true);
    expect(store.promoted.at(-1)).toMatchObject({ expectedCurrent: mine });
    expect(logged("another writer")).toEqual([]);
  });

  it("keeps its pair when the winner cannot be read", async () => {
    const { store, refresher, session } = dueSession();
    refresher.script.push(() => {
      store.write(oauthDocument("theirs", { expiresAt: T0 + HOUR }));
      return renewed({ accessToken: "access-ours" });
    });
    store.readFaults.push({ kind: "version", version: "v1" }, { kind: "throw" });
    await settle(session.endpoint(T0 + 399));
    expect(session.unsaved).toBe(true);
    expect(logged("could NOT be saved")).toHaveLength(1);
  });
});

describe("a dead grant (invalid_grant)", () => {
  /** A due session whose refresh token Bitrix24 refuses as invalid_grant. */
  function refusedSession() {
    const context = dueSession();
    const dead = deadGrant();
    context.refresher.script.push(dead);
    return { ...context, dead };
  }

  it("polls for the winner's version at 0, 100, 250, 500 and 1000 ms and uses it", async () => {
    const { store, refresher, session } = refusedSession();
    // The winner's pair appears before the sixth read (the fifth poll).
    winnerBeforeRead(store, 6);
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-winner"));
    expect(store.reads.map((r) => r.at - T0)).toEqual([0, 0, 100, 350, 850, 1850]);
    expect(session.unsaved).toBe(false);
    expect(refresher.count).toBe(1);
  });

  it("drops nothing, and says nothing of dropping, when no renewed pair was waiting to be saved", async () => {
    const { store, session } = refusedSession();
    winnerBeforeRead(store, 2);
    await settle(session.endpoint(now() + FAR));
    expect(logged("dropping it")).toEqual([]);
  });

  it("stops polling as soon as a newer version appears", async () => {
    const { store, session } = refusedSession();
    winnerBeforeRead(store, 2);
    expect(await settle(session.endpoint(now() + FAR))).toStrictEqual(endpointWith("access-winner"));
    expect(store.reads.map((r) => r.at - T0)).toEqual([0, 0]);
  });

  it("throws the refresh's error when no newer version appears before the deadline", async () => {
    const { store, session, dead } = refusedSession();
    // deadline - now = 550: the 250 ms wait still leaves 200 ms; the 500 ms wait would not.
    await expect(settle(session.endpoint(T0 + 550))).rejects.toBe(dead.error);
    expect(store.reads.map((r) => r.at - T0)).toEqual([0, 0, 100, 350]);
  });

  it("does not start a wait that would leave less than 200 ms", async () => {
    const { store, session, dead } = refusedSession();
    await expect(settle(session.endpoint(T0 + 549))).rejects.toBe(dead.error);
    expect(store.reads.map((r) => r.at - T0)).toEqual([0, 0, 100]);
  });

  it("polls nothing when even the first read would leave less than 200 ms", async () => {
    const { store, session, dead } = refusedSession();
    await expect(settle(session.endpoint(T0 + 199))).rejects.toBe(dead.error);
    expect(store.reads.map((r) => r.at - T0)).toEqual([0]);
  });

  it("drops an unsaved pair whose refresh token was refused, then waits for the winner", async () => {
    const { store, refresher, session } = dueSession();
    store.stageFaults.push("throw");
    await settle(session.endpoint(T0 + 399));
    expect(session.unsaved).toBe(true);
    const readsBefore = store.reads.length;

    refresher.script.push(deadGrant());
    winnerBeforeRead(store, readsBefore + 2);
    expect(await settle(session.recover(endpointWith("access-1"), rejection(), now() + FAR))).toStrictEqual(
      endpointWith("access-winner"),
    );
    expect(logged("unsaved OAuth refresh token was refused")).toMatchObject([
      { level: "ERROR", portal: "portal-a" },
    ]);
    expect(session.unsaved).toBe(false);
    // First poll found v1 (the version the unsaved pair came from): not newer, so it kept polling.
    expect(store.reads.slice(readsBefore).map((r) => [r.at - T0, r.versionId])).toEqual([
      [0, "v1"],
      [100, "other-1"],
    ]);
  });

  it("throws when the unsaved pair is refused and only its base version is in the secret", async () => {
    const { store, refresher, session } = dueSession();
    store.stageFaults.push("throw");
    await settle(session.endpoint(T0 + 399));
    const dead = deadGrant();
    refresher.script.push(dead);
    await expect(settle(session.recover(endpointWith("access-1"), rejection(), now() + FAR))).rejects.toBe(
      dead.error,
    );
    expect(session.unsaved).toBe(false);
  });

  it("keeps polling while the reads return only versions it retired", async () => {
    const { store, refresher, session } = dueSession();
    // A first renewal is stored (retiring v1); the second cannot be saved within its deadline.
    await settle(session.endpoint(now() + FAR));
    travelTo(T0 + HOUR - RENEWAL_MARGIN_MS);
    store.stageFaults.push("throw");
    await settle(session.endpoint(now() + 399));
    expect(session.unsaved).toBe(true);
    // Its refresh token is refused; every poll reads the long-retired v1 (an eventually consistent read).
    const dead = deadGrant();
    refresher.script.push(dead);
    const readsBefore = store.reads.length;
    store.readFaults.push(...Array.from({ length: 5 }, () => ({ kind: "version", version: "v1" }) as const));
    await expect(settle(session.recover(endpointWith("access-2"), rejection(), now() + FAR))).rejects.toBe(
      dead.error,
    );
    expect(store.reads.slice(readsBefore).map((r) => r.versionId)).toEqual(["v1", "v1", "v1", "v1", "v1"]);
  });
});

describe("the token answer's endpoints", () => {
  async function renewWith(answer: Partial<TokenAnswer>, options: { allowHttpLoopback?: boolean } = {}) {
    const context = dueSession(options);
    context.refresher.script.push(renewed({ accessToken: "access-new", ...answer }));
    const endpoint = await settle(context.session.endpoint(now() + FAR));
    const stored = context.store.document(context.store.current).oauth as Record<string, unknown>;
    return { ...context, endpoint, stored };
  }

  it("keeps the address, without a word, when the answer names none", async () => {
    const { endpoint, stored } = await renewWith({});
    expect(endpoint).toStrictEqual(endpointWith("access-new"));
    expect(stored.clientEndpoint).toBe(REST);
    expect(logged("client_endpoint")).toEqual([]);
    expect(logged("new address")).toEqual([]);
  });

  it("takes a client_endpoint on the same host without a warning", async () => {
    const { endpoint, stored } = await renewWith({ clientEndpoint: "https://portal.example/rest" });
    expect(endpoint).toStrictEqual(endpointWith("access-new"));
    expect(stored.clientEndpoint).toBe(REST);
    expect(logged("new address")).toEqual([]);
    expect(logged("unusable client_endpoint")).toEqual([]);
  });

  it("moves to a new host the OAuth server names, with a warning naming it", async () => {
    const { endpoint, stored } = await renewWith({ clientEndpoint: "https://moved.example/rest/" });
    expect(endpoint).toStrictEqual(endpointWith("access-new", "https://moved.example/rest/"));
    expect(stored.clientEndpoint).toBe("https://moved.example/rest/");
    expect(logged("new address")).toMatchObject([
      { level: "WARN", portal: "portal-a", newHost: "moved.example" },
    ]);
  });

  it.each([
    ["plain http to a public host", "http://moved.example/rest/"],
    ["not a URL", "garbage"],
    ["not a REST base", "https://moved.example/admin/"],
  ])("ignores an unusable client_endpoint (%s) and keeps the old address", async (_, clientEndpoint) => {
    const { endpoint, stored } = await renewWith({ clientEndpoint });
    expect(endpoint).toStrictEqual(endpointWith("access-new"));
    expect(stored.clientEndpoint).toBe(REST);
    expect(logged("unusable client_endpoint")).toMatchObject([{ level: "WARN", portal: "portal-a" }]);
    expect(logged("new address")).toEqual([]);
  });

  it("allows a plain-http loopback client_endpoint only when told to", async () => {
    const loopback = "http://127.0.0.1:8080/rest/";
    const allowed = await renewWith({ clientEndpoint: loopback }, { allowHttpLoopback: true });
    expect(allowed.endpoint.restBase).toBe(loopback);
    logs.stop();
    logs = captureLogs();
    const refused = await renewWith({ clientEndpoint: loopback });
    expect(refused.endpoint.restBase).toBe(REST);
  });

  it("takes the answer's server_endpoint for the next refresh", async () => {
    const { refresher, session, stored } = await renewWith({
      serverEndpoint: "https://oauth.bitrix24.tech/rest/",
    });
    expect(stored.serverEndpoint).toBe("https://oauth.bitrix24.tech/rest/");
    travelTo(T0 + HOUR - RENEWAL_MARGIN_MS);
    await settle(session.endpoint(now() + FAR));
    expect(refresher.grants[1]?.grant.serverEndpoint).toBe("https://oauth.bitrix24.tech/rest/");
  });

  it("keeps the pair's server_endpoint when the answer names none", async () => {
    const context = dueSession({ serverEndpoint: "https://oauth.bitrix.info/rest/" });
    await settle(context.session.endpoint(now() + FAR));
    travelTo(T0 + HOUR - RENEWAL_MARGIN_MS);
    await settle(context.session.endpoint(now() + FAR));
    expect(context.refresher.grants.map((g) => g.grant.serverEndpoint)).toEqual([
      "https://oauth.bitrix.info/rest/",
      "https://oauth.bitrix.info/rest/",
    ]);
  });
});

describe("the renewed pair's expiry", () => {
  async function expiryAfter(answer: Partial<TokenAnswer>) {
    const { store, refresher, session } = dueSession();
    refresher.script.push(renewed(answer));
    await settle(session.endpoint(now() + FAR));
    return (store.document(store.current).oauth as { expiresAt: number }).expiresAt * 1000;
  }

  it("prefers expires_in", async () => {
    expect(await expiryAfter({ expiresIn: 1800, expires: T0 / 1000 + 7200 })).toBe(T0 + 1800_000);
  });

  it("falls back to expires (unix seconds)", async () => {
    expect(await expiryAfter({ expiresIn: undefined, expires: T0 / 1000 + 7200 })).toBe(T0 + 7200_000);
  });

  it("assumes an hour when the answer says neither", async () => {
    expect(await expiryAfter({ expiresIn: undefined })).toBe(T0 + HOUR);
  });

  it("is due again RENEWAL_MARGIN_MS before the renewed expiry", async () => {
    const { refresher, session } = dueSession();
    refresher.script.push(renewed({ expiresIn: 1800 }));
    await settle(session.endpoint(now() + FAR));
    travelTo(T0 + 1800_000 - RENEWAL_MARGIN_MS - 1);
    await settle(session.endpoint(now() + FAR));
    expect(refresher.count).toBe(1);
    travelTo(T0 + 1800_000 - RENEWAL_MARGIN_MS);
    await settle(session.endpoint(now() + FAR));
    expect(refresher.count).toBe(2);
  });
});
