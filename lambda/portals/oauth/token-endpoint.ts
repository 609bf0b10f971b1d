/**
 * Bitrix24's OAuth token endpoint (`https://oauth.bitrix.info/oauth/token/`), called as documented:
 * GET with `grant_type=refresh_token&client_id&client_secret&refresh_token`. The URL carries secrets,
 * so it never reaches an error or a log: failures are described by status and error code only.
 */
import { MAX_RESPONSE_BYTES } from "../../bitrix24/client.ts";
import { MIN_ATTEMPT_MS } from "../../bitrix24/deadline.ts";
import {
  exchange,
  type HttpAnswer,
  parseJsonObject,
  transportFailure,
} from "../../bitrix24/http-exchange.ts";
import { refusalAdvice } from "../../bitrix24/refusal.ts";
import { TransferError } from "../../domain/problems.ts";
import { ERROR_CODE_PATTERN, safeErrorCode } from "../../domain/safe-text.ts";
import { type TokenEndpointFailure, tokenEndpointFailure } from "./tokens.ts";

export interface RefreshGrant {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** The token's `server_endpoint`: decides which OAuth server gets the refresh. */
  serverEndpoint?: string;
}

/**
 * Bitrix24's OAuth servers: `oauth.bitrix.info`, and `oauth.bitrix24.tech` for the other region (the
 * official PHP SDK's `DefaultOAuthServerUrl`; the JS SDK derives the server from `server_endpoint`).
 * A refresh carries the app's client secret, so it goes nowhere else.
 */
export const TRUSTED_OAUTH_HOSTS: ReadonlySet<string> = new Set(["oauth.bitrix.info", "oauth.bitrix24.tech"]);

/**
 * The token URL for a token whose `server_endpoint` is `serverEndpoint`: the configured URL (default
 * https://oauth.bitrix.info/oauth/token/, a loopback simulator in tests) when it names no server or the
 * configured one, the same path on another trusted host, or undefined for any other host.
 */
export function tokenUrlFor(
  serverEndpoint: string | undefined,
  configuredTokenUrl: string,
): string | undefined {
  if (serverEndpoint === undefined) return configuredTokenUrl;
  let server: URL;
  try {
    server = new URL(serverEndpoint);
  } catch {
    return undefined;
  }
  const configured = new URL(configuredTokenUrl);
  if (server.host === configured.host && server.protocol === configured.protocol) return configuredTokenUrl;
  if (server.protocol !== "https:" || server.port !== "" || !TRUSTED_OAUTH_HOSTS.has(server.hostname)) {
    return undefined;
  }
  return `https://${server.hostname}/oauth/token/`;
}

export interface TokenAnswer {
  accessToken: string;
  refreshToken: string;
  expiresIn?: number;
  /** Unix seconds. */
  expires?: number;
  /** The portal's REST base, e.g. `https://<portal>/rest/`. */
  clientEndpoint?: string;
  /** The OAuth server for the next refresh, e.g. `https://oauth.bitrix.info/rest/`. */
  serverEndpoint?: string;
}

export type RefreshOutcome =
  | { ok: true; answer: TokenAnswer }
  | { ok: false; failure: TokenEndpointFailure; error: TransferError };

export async function refreshTokens(
  configuredTokenUrl: string,
  grant: RefreshGrant,
  options: { deadline: number; attemptTimeoutMs: number },
): Promise<RefreshOutcome> {
  const tokenUrl = tokenUrlFor(grant.serverEndpoint, configuredTokenUrl);
  if (tokenUrl === undefined) {
    return {
      ok: false,
      failure: "refused",
      error: new TransferError("PORTAL_MISCONFIGURED", {
        detail: `the token's server_endpoint is not a Bitrix24 OAuth server this service trusts (${[...TRUSTED_OAUTH_HOSTS].join(", ")} or B24_OAUTH_TOKEN_URL); the refresh was not sent`,
      }),
    };
  }
  const remaining = options.deadline - Date.now();
  if (remaining < MIN_ATTEMPT_MS) {
    return failed("transient", "UPSTREAM_TIMEOUT", "no time was left to renew the portal's OAuth tokens");
  }
  const url = new URL(tokenUrl);
  url.searchParams.set("grant_type", "refresh_token");
  url.searchParams.set("client_id", grant.clientId);
  url.searchParams.set("client_secret", grant.clientSecret);
  url.searchParams.set("refresh_token", grant.refreshToken);

  const timeoutMs = Math.min(options.attemptTimeoutMs, remaining);
  let response: HttpAnswer;
  try {
    response = await exchange({
      method: "GET",
      url,
      headers: { accept: "application/json" },
      timeoutMs,
      maxBytes: MAX_RESPONSE_BYTES,
    });
  } catch (error) {
    // A refresh that reached the server may have rotated the pair; nothing here can recover it.
    const failure = transportFailure(error, timeoutMs, "Bitrix24's OAuth server");
    return failed("transient", failure.code, failure.detail);
  }
  const { text } = response;

  const body = parseJsonObject(text);
  // The URL we sent carries the client secret and refresh token: an answer quoting them is not a code.
  const errorCode =
    typeof body?.error === "string" && ERROR_CODE_PATTERN.test(body.error)
      ? safeErrorCode(body.error, [grant.clientSecret, grant.refreshToken, url.href])
      : undefined;
  if (response.status !== 200 || errorCode !== undefined || body === undefined) {
    const failure = tokenEndpointFailure(response.status, errorCode);
    return { ok: false, failure, error: describeFailure(failure, response.status, errorCode) };
  }
  const answer = readAnswer(body);
  if (!answer) {
    // The refresh may have happened; nothing here can recover the pair it issued.
    return failed("transient", "UPSTREAM_ERROR", "Bitrix24's OAuth server answered without a token pair");
  }
  return { ok: true, answer };
}

function readAnswer(body: Record<string, unknown>): TokenAnswer | undefined {
  const { access_token: accessToken, refresh_token: refreshToken } = body;
  if (typeof accessToken !== "string" || accessToken === "") return undefined;
  if (typeof refreshToken !== "string" || refreshToken === "") return undefined;
  const answer: TokenAnswer = { accessToken, refreshToken };
  const expiresIn = numeric(body.expires_in);
  const expires = numeric(body.expires);
  if (expiresIn !== undefined) answer.expiresIn = expiresIn;
  if (expires !== undefined) answer.expires = expires;
  if (typeof body.client_endpoint === "string") answer.clientEndpoint = body.client_endpoint;
  if (typeof body.server_endpoint === "string") answer.serverEndpoint = body.server_endpoint;
  return answer;
}

function describeFailure(
  failure: TokenEndpointFailure,
  status: number,
  errorCode: string | undefined,
): TransferError {
  const bitrix24 = errorCode === undefined ? {} : { bitrix24: { error: errorCode } };
  switch (failure) {
    case "dead-grant":
      return new TransferError("PORTAL_MISCONFIGURED", {
        detail:
          "Bitrix24's OAuth server refused the stored refresh token (invalid_grant) and no newer pair appeared in the portal's secret; put a new token pair into the secret (docs/oauth.md)",
        ...bitrix24,
      });
    case "refused":
      return new TransferError("PORTAL_MISCONFIGURED", {
        detail:
          refusalAdvice(errorCode ?? "") ??
          `Bitrix24's OAuth server refused the application with ${errorCode}; check the app's client id and secret, its installation and its payment status`,
        ...bitrix24,
      });
    default:
      return new TransferError("UPSTREAM_ERROR", {
        detail: `Bitrix24's OAuth server failed (HTTP ${status}${errorCode === undefined ? "" : ` ${errorCode}`})`,
        ...bitrix24,
      });
  }
}

function failed(
  failure: TokenEndpointFailure,
  code: "UPSTREAM_ERROR" | "UPSTREAM_TIMEOUT",
  detail: string,
): RefreshOutcome {
  return { ok: false, failure, error: new TransferError(code, { detail }) };
}

function numeric(value: unknown): number | undefined {
  const number = typeof value === "string" && value !== "" ? Number(value) : value;
  return typeof number === "number" && Number.isFinite(number) ? number : undefined;
}
