import { randomBytes } from "node:crypto";
import { isGiven, type Params } from "./php-values.ts";

/**
 * Bitrix24's OAuth 2.0 side for applications (settings/oauth/*.md in bitrix24/b24restdocs): tokens
 * issued at installation, the token endpoint's `grant_type=refresh_token`, and access-token checks for
 * REST calls. Rotation is real: a successful refresh kills the refresh token used; whether it also kills
 * the access token issued with it neither the module nor the docs say (`refreshKillsAccessToken`);
 * access tokens expire after their lifetime; refresh tokens after theirs (180 days).
 * Error statuses of the token endpoint are not documented; these follow RFC 6749 (400, 401 for
 * invalid_client). Refusals of the app (settings/oauth/error-codes.md, settings/oauth/index.md):
 * invalid_client, invalid_scope (the token asks for more than the app's card grants), PAYMENT_REQUIRED
 * (the app's trial or paid period has expired).
 */

export interface AppSeed {
  /** `app.…` for marketplace apps, `local.…` for local ones. */
  clientId: string;
  clientSecret: string;
  /** Scopes the portal granted the app. */
  scopes: readonly string[];
  /** The user who installed the app, whose permissions its calls have; default 1. */
  userId?: number;
}

/** What the token endpoint (and, for the first pair, ONAPPINSTALL's `auth`) hands out. */
export interface TokenGrant {
  access_token: string;
  refresh_token: string;
  /** Unix seconds. */
  expires: number;
  expires_in: number;
  scope: string;
  domain: string;
  server_endpoint: string;
  client_endpoint: string;
  member_id: string;
  status: string;
}

/** A refresh token's state when it was presented. */
export type RefreshTokenState = "live" | "used" | "expired" | "revoked" | "unknown";

/** One request to the token endpoint. Test-only: it keeps the token values presented. */
export interface TokenRequestRecord {
  grantType: string;
  clientId: string;
  refreshToken: string;
  refreshTokenState: RefreshTokenState;
  /** 200 when a new pair was issued. */
  status: number;
  error?: string;
  at: number;
}

export type AccessCheck =
  | { ok: true; app: AppSeed }
  | { ok: false; error: "expired_token" | "invalid_token" };

export interface OAuthServerOptions {
  now: () => number;
  accessTokenLifetimeSeconds: number;
  refreshTokenLifetimeSeconds: number;
  refreshKillsAccessToken: boolean;
  /** The portal's REST base and the token server's host, known once the server listens. */
  endpoints: () => { clientEndpoint: string; serverEndpoint: string; domain: string };
}

interface AccessToken {
  clientId: string;
  expiresAt: number;
  alive: boolean;
}

interface RefreshToken {
  clientId: string;
  /** The scopes the pair was granted. */
  scopes: readonly string[];
  expiresAt: number;
  state: "live" | "used" | "revoked";
  /** The access token issued with it: it dies when this refresh token is used. */
  accessToken: string;
}

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
  error?: string;
}

const MEMBER_ID = "a223c6b3710f85df22e9377d6c4f7553";

export class OAuthServer {
  readonly #apps = new Map<string, AppSeed>();
  readonly #access = new Map<string, AccessToken>();
  readonly #refresh = new Map<string, RefreshToken>();
  readonly #unpaid = new Set<string>();
  readonly #seeds: readonly AppSeed[];
  readonly #options: OAuthServerOptions;
  readonly requests: TokenRequestRecord[] = [];

  constructor(apps: readonly AppSeed[], options: OAuthServerOptions) {
    this.#seeds = apps;
    this.#restoreApps();
    this.#options = options;
  }

  get firstApp(): AppSeed | undefined {
    return this.#apps.values().next().value;
  }

  /** The first pair, as the installation event delivers it. */
  install(clientId: string): TokenGrant {
    const app = this.#apps.get(clientId);
    if (!app) throw new Error(`no app ${clientId} in the portal seed`);
    return this.#issue(app);
  }

  /** The app is uninstalled (or reinstalled): every token it holds stops working. */
  revokeApp(clientId: string): void {
    for (const token of this.#access.values()) if (token.clientId === clientId) token.alive = false;
    for (const token of this.#refresh.values()) if (token.clientId === clientId) token.state = "revoked";
  }

  /** Every app paid for, with its card's scopes as seeded (tokens are left as they are). */
  #restoreApps(): void {
    for (const app of this.#seeds) this.#apps.set(app.clientId, { ...app, scopes: [...app.scopes] });
    this.#unpaid.clear();
  }

  resetApps(): void {
    this.#restoreApps();
  }

  expirePayment(clientId: string): void {
    this.#unpaid.add(clientId);
  }

  /** The app's card is edited: its grants from now on. */
  setCardScopes(clientId: string, scopes: readonly string[]): void {
    const app = this.#apps.get(clientId);
    if (app) app.scopes = [...scopes];
  }

  /** Refresh tokens that would work now. */
  liveRefreshTokens(): string[] {
    const now = this.#options.now();
    return [...this.#refresh]
      .filter(([, t]) => t.state === "live" && t.expiresAt > now)
      .map(([token]) => token);
  }

  authenticate(accessToken: string): AccessCheck {
    const token = this.#access.get(accessToken);
    const app = token?.alive ? this.#apps.get(token.clientId) : undefined;
    if (!token || !app) return { ok: false, error: "invalid_token" };
    if (this.#options.now() >= token.expiresAt) return { ok: false, error: "expired_token" };
    return { ok: true, app };
  }

  /** `/oauth/token/` with the parameters of the query and body. */
  token(params: Params): TokenAnswer {
    const grantType = isGiven(params.grant_type) ? String(params.grant_type) : "";
    const clientId = isGiven(params.client_id) ? String(params.client_id) : "";
    const presented = isGiven(params.refresh_token) ? String(params.refresh_token) : "";
    const stored = this.#refresh.get(presented);
    const record: TokenRequestRecord = {
      grantType,
      clientId,
      refreshToken: presented,
      refreshTokenState: this.#stateOf(stored),
      status: 200,
      at: this.#options.now(),
    };
    const answer = this.#answer(grantType, clientId, params.client_secret, presented, stored);
    record.status = answer.status;
    if (answer.error !== undefined) record.error = answer.error;
    this.requests.push(record);
    return answer;
  }

  #answer(
    grantType: string,
    clientId: string,
    clientSecret: unknown,
    presented: string,
    stored: RefreshToken | undefined,
  ): TokenAnswer {
    if (grantType !== "refresh_token") {
      return oauthError(400, "invalid_request", "Only grant_type=refresh_token is supported here");
    }
    const app = this.#apps.get(clientId);
    if (!app || String(clientSecret ?? "") !== app.clientSecret) {
      return oauthError(401, "invalid_client", "Invalid client");
    }
    if (presented === "") return oauthError(400, "invalid_request", "refresh_token is required");
    if (!stored || stored.clientId !== clientId || this.#stateOf(stored) !== "live") {
      return oauthError(400, "invalid_grant", "Invalid refresh token");
    }
    if (stored.scopes.some((scope) => !app.scopes.includes(scope))) {
      return oauthError(
        400,
        "invalid_scope",
        "Access permissions requested exceed those in the application card",
      );
    }
    if (this.#unpaid.has(clientId)) return oauthError(400, "PAYMENT_REQUIRED", "Payment required");
    stored.state = "used";
    const killed = this.#access.get(stored.accessToken);
    if (killed && this.#options.refreshKillsAccessToken) killed.alive = false;
    return { status: 200, body: { ...this.#issue(app) } };
  }

  #stateOf(token: RefreshToken | undefined): RefreshTokenState {
    if (!token) return "unknown";
    if (token.state !== "live") return token.state;
    return this.#options.now() >= token.expiresAt ? "expired" : "live";
  }

  #issue(app: AppSeed): TokenGrant {
    const now = this.#options.now();
    const { accessTokenLifetimeSeconds: lifetime, refreshTokenLifetimeSeconds } = this.#options;
    const accessToken = newToken();
    const refreshToken = newToken();
    this.#access.set(accessToken, { clientId: app.clientId, expiresAt: now + lifetime * 1000, alive: true });
    this.#refresh.set(refreshToken, {
      clientId: app.clientId,
      scopes: [...app.scopes],
      expiresAt: now + refreshTokenLifetimeSeconds * 1000,
      state: "live",
      accessToken,
    });
    const { clientEndpoint, serverEndpoint, domain } = this.#options.endpoints();
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      expires: Math.floor(now / 1000) + lifetime,
      expires_in: lifetime,
      scope: app.scopes.join(","),
      domain,
      server_endpoint: serverEndpoint,
      client_endpoint: clientEndpoint,
      member_id: MEMBER_ID,
      status: "L",
    };
  }
}

function oauthError(status: number, error: string, description: string): TokenAnswer {
  return { status, body: { error, error_description: description }, error };
}

/** 32 lower-case alphanumerics, like Bitrix24's tokens. */
function newToken(): string {
  return randomBytes(16).toString("hex");
}
