import { randomUUID } from "node:crypto";
import type { SecretVersions } from "../../aws/secret-versions.ts";
import { awsErrorName } from "../../aws/secrets-manager.ts";
import { MIN_ATTEMPT_MS, sleep } from "../../bitrix24/deadline.ts";
import type { TransferError } from "../../domain/problems.ts";
import { logger } from "../../observability/logger.ts";
import type { PortalConnection, PortalEndpoint } from "../connection.ts";
import { documentWithPair, type OAuthSecret, restBaseFromEndpoint } from "./secret.ts";
import type { RefreshGrant, RefreshOutcome, TokenAnswer } from "./token-endpoint.ts";
import { expiryFromAnswer, isDueForRenewal, isTokenRejection, type TokenPair } from "./tokens.ts";

export interface OAuthSessionOptions {
  /** For logs. */
  portal: string;
  secretId: string;
  initial: OAuthSecret;
  /** A fresh, uncached read of the portal's secret. */
  read(): Promise<OAuthSecret>;
  versions: SecretVersions;
  refresh(grant: RefreshGrant, deadline: number): Promise<RefreshOutcome>;
  allowHttpLoopback: boolean;
  now?: () => number;
}

/** A renewed pair not yet stored in Secrets Manager. */
interface Pending {
  /** The version the renewed pair replaces: the "compare" of compare-and-swap. */
  basedOn: string;
  /** The version being written; also its idempotency token, so a retried write adds nothing. */
  versionId: string;
  value: string;
  /** Versions written earlier for this chain of renewals: one of them may have become current unseen. */
  earlier: string[];
  failures: number;
  retryAt: number;
}

/** True once nothing is left to save: the pair was stored, or another writer's replaced it. */
type Settled = boolean;

/** Attempts within the invocation that renewed; later invocations try again. */
const PERSIST_ATTEMPTS = 3;
/** Waits for another container to store the pair it won (after our refresh lost with invalid_grant). */
const WINNER_POLL_MS = [0, 100, 250, 500, 1000];
const MAX_PERSIST_BACKOFF_MS = 60_000;

/**
 * One OAuth portal's tokens in one container. Refresh tokens rotate, so the pair is renewed by one
 * task at a time (concurrent invocations queue behind it and then use its result), stored with
 * compare-and-swap before the container relies on it, and never dropped while it is the only live copy:
 * an unsaved pair outranks anything read from the secret until it is saved.
 */
export class OAuthSession implements PortalConnection {
  readonly #options: OAuthSessionOptions;
  readonly #now: () => number;
  #secret: OAuthSecret;
  #pair: TokenPair;
  /** The version that holds `#pair`; undefined while the pair is pending. */
  #storedIn: string | undefined;
  #pending: Pending | undefined;
  /** Versions this container has moved past: a late or cached read of one must not bring it back. */
  readonly #retired = new Set<string>();
  #tail: Promise<unknown> = Promise.resolve();

  constructor(options: OAuthSessionOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#secret = options.initial;
    this.#pair = options.initial.pair;
    this.#storedIn = options.initial.versionId;
  }

  /** True while a renewed pair exists only in this container's memory. */
  get unsaved(): boolean {
    return this.#pending !== undefined;
  }

  async endpoint(deadline: number): Promise<PortalEndpoint> {
    const pending = this.#pending;
    if (pending && this.#now() >= pending.retryAt) {
      await this.#serial(() => (this.#pending ? this.#persist(deadline, 1) : Promise.resolve()));
    }
    if (isDueForRenewal(this.#pair, this.#now())) {
      try {
        await this.#renew(this.#pair.accessToken, deadline);
      } catch (error) {
        // A token that still works is used; the next call tries the renewal again.
        if (this.#pair.expiresAt <= this.#now()) throw error;
      }
    }
    return this.#endpoint();
  }

  async recover(
    used: PortalEndpoint,
    error: TransferError,
    deadline: number,
  ): Promise<PortalEndpoint | undefined> {
    if (used.auth !== this.#pair.accessToken) return this.#endpoint();
    if (isTokenRejection(error)) {
      await this.#renew(used.auth, deadline);
    } else {
      await this.#serial(async () => this.#consider(await this.#options.read()));
    }
    return this.#pair.accessToken === used.auth ? undefined : this.#endpoint();
  }

  /** A read of the secret from the container's cache: taken only if it is newer than what is held. */
  offer(read: OAuthSecret): void {
    this.#consider(read);
  }

  #endpoint(): PortalEndpoint {
    return { restBase: this.#pair.restBase, auth: this.#pair.accessToken, access: this.#secret.access };
  }

  /** Runs tasks one at a time; a failed task does not stop the next. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #consider(read: OAuthSecret): void {
    // An unsaved pair outranks any read: its refresh token is the only live one, the secret's is dead.
    if (this.#pending) return;
    if (read.versionId === this.#storedIn || this.#retired.has(read.versionId)) return;
    this.#adopt(read);
  }

  #adopt(read: OAuthSecret): void {
    if (this.#storedIn !== undefined) this.#retired.add(this.#storedIn);
    this.#secret = read;
    this.#pair = read.pair;
    this.#storedIn = read.versionId;
  }

  /** Replaces the pair whose access token is `failedToken`, unless that already happened. */
  #renew(failedToken: string, deadline: number): Promise<void> {
    return this.#serial(async () => {
      if (this.#pair.accessToken !== failedToken) return;
      if (!this.#pending) {
        // Another container may have renewed already, which killed our refresh token: use its pair.
        this.#consider(await this.#options.read());
        if (this.#pair.accessToken !== failedToken) return;
      }
      const renewedFrom = this.#pending?.basedOn ?? (this.#storedIn as string);
      const outcome = await this.#options.refresh(
        {
          ...this.#secret.app,
          refreshToken: this.#pair.refreshToken,
          ...(this.#pair.serverEndpoint === undefined ? {} : { serverEndpoint: this.#pair.serverEndpoint }),
        },
        deadline,
      );
      if (!outcome.ok) {
        if (outcome.failure === "dead-grant") {
          if (this.#pending) {
            logger.error("the unsaved OAuth refresh token was refused; dropping it", {
              portal: this.#options.portal,
            });
            this.#pending = undefined;
          }
          // Usually another container won the same refresh a moment ago and is storing its pair.
          if (await this.#awaitNewerVersion(renewedFrom, deadline)) return;
        }
        throw outcome.error;
      }
      this.#takeRenewed(outcome.answer);
      logger.info("OAuth tokens renewed", { portal: this.#options.portal });
      await this.#persist(deadline, PERSIST_ATTEMPTS);
    });
  }

  async #awaitNewerVersion(since: string, deadline: number): Promise<boolean> {
    for (const wait of WINNER_POLL_MS) {
      if (this.#now() + wait + MIN_ATTEMPT_MS > deadline) break;
      if (wait > 0) await sleep(wait);
      this.#consider(await this.#options.read());
      if (this.#storedIn !== undefined && this.#storedIn !== since) return true;
    }
    return false;
  }

  #takeRenewed(answer: TokenAnswer): void {
    let restBase = this.#pair.restBase;
    if (answer.clientEndpoint !== undefined) {
      const endpoint = restBaseFromEndpoint(answer.clientEndpoint, this.#options.allowHttpLoopback);
      if (endpoint === undefined) {
        logger.warn("ignoring an unusable client_endpoint from the OAuth server", {
          portal: this.#options.portal,
        });
      } else {
        // The token server is trusted (tokenUrlFor), so a new portal address from it is the portal's move.
        if (new URL(endpoint).host !== new URL(restBase).host) {
          logger.warn("the OAuth server gave the portal a new address; using it", {
            portal: this.#options.portal,
            newHost: new URL(endpoint).host,
          });
        }
        restBase = endpoint;
      }
    }
    const serverEndpoint = answer.serverEndpoint ?? this.#pair.serverEndpoint;
    const pair: TokenPair = {
      accessToken: answer.accessToken,
      refreshToken: answer.refreshToken,
      expiresAt: expiryFromAnswer(answer.expiresIn, answer.expires, this.#now()),
      restBase,
      ...(serverEndpoint === undefined ? {} : { serverEndpoint }),
    };
    const previous = this.#pending;
    this.#pending = {
      basedOn: previous?.basedOn ?? (this.#storedIn as string),
      versionId: randomUUID(),
      value: documentWithPair(this.#secret.document, pair),
      earlier: previous ? [...previous.earlier, previous.versionId] : [],
      failures: previous?.failures ?? 0,
      retryAt: 0,
    };
    this.#pair = pair;
    this.#storedIn = undefined;
  }

  async #persist(deadline: number, attempts: number): Promise<void> {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (await this.#tryPersist()) return;
      const wait = 200 * attempt;
      if (attempt === attempts || this.#now() + wait + MIN_ATTEMPT_MS > deadline) break;
      await sleep(wait);
    }
    // Still pending: tryPersist fails only while the pair is unsaved.
    const pending = this.#pending as Pending;
    pending.failures += 1;
    pending.retryAt = this.#now() + Math.min(MAX_PERSIST_BACKOFF_MS, 1000 * 2 ** pending.failures);
    // Loud on purpose: if every container holding this pair stops, the portal must reinstall the app.
    logger.error(
      "OAuth tokens were renewed but could NOT be saved to Secrets Manager; kept in memory, retrying",
      {
        portal: this.#options.portal,
        failures: pending.failures,
      },
    );
  }

  async #tryPersist(): Promise<Settled> {
    const pending = this.#pending as Pending;
    const { secretId, versions } = this.#options;
    try {
      await versions.stage(secretId, pending.versionId, pending.value);
    } catch (error) {
      return this.#persistFailed("PutSecretValue", error);
    }
    for (;;) {
      try {
        await versions.promote(secretId, pending.versionId, pending.basedOn);
        this.#stored(pending);
        return true;
      } catch (error) {
        this.#persistFailed("UpdateSecretVersionStage", error);
      }
      // The move failed: find out whether it happened anyway, or who moved AWSCURRENT first.
      let current: string | undefined;
      try {
        current = await versions.currentVersion(secretId);
      } catch (error) {
        return this.#persistFailed("DescribeSecret", error);
      }
      if (current === pending.versionId) {
        this.#stored(pending);
        return true;
      }
      if (current === undefined || current === pending.basedOn) return false;
      if (!pending.earlier.includes(current)) break;
      // An earlier write of this same chain became current after all: replace that one. The version the
      // chain began from is history now; a cached read of it must not bring its dead refresh token back.
      this.#retired.add(pending.basedOn);
      pending.basedOn = current;
    }
    return this.#takeWinner(pending);
  }

  /** Another writer stored its own pair after the one we renewed from: theirs wins. */
  async #takeWinner(pending: Pending): Promise<Settled> {
    let winner: OAuthSecret;
    try {
      winner = await this.#options.read();
    } catch {
      return false;
    }
    if (winner.versionId === pending.basedOn || this.#retired.has(winner.versionId)) return false;
    logger.warn("another writer replaced this portal's OAuth tokens first; using theirs", {
      portal: this.#options.portal,
    });
    this.#pending = undefined;
    this.#retired.add(pending.basedOn);
    for (const version of pending.earlier) this.#retired.add(version);
    this.#adopt(winner);
    return true;
  }

  #stored(pending: Pending): void {
    this.#retired.add(pending.basedOn);
    for (const version of pending.earlier) this.#retired.add(version);
    this.#pending = undefined;
    this.#storedIn = pending.versionId;
    this.#secret = {
      ...this.#secret,
      pair: this.#pair,
      document: JSON.parse(pending.value) as Record<string, unknown>,
      versionId: pending.versionId,
    };
  }

  #persistFailed(operation: string, error: unknown): false {
    logger.warn("saving renewed OAuth tokens failed", {
      portal: this.#options.portal,
      operation,
      error: awsErrorName(error),
    });
    return false;
  }
}
