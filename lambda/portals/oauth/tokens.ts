/**
 * Rules for a Bitrix24 application's OAuth 2.0 tokens. Access tokens live an hour; refresh tokens rotate:
 * a successful refresh kills the refresh token used. Whether it also kills the access token issued with
 * it neither the module nor the docs say, so nothing here relies on it: an old access token that still
 * works is used until it expires, one that was killed is answered `invalid_token` and replaced from the
 * secret (test/oauth-refresh-kill.test.ts runs both).
 */
import { TransferError } from "../../domain/problems.ts";

/** A usable pair and where to use it. Every field but `expiresAt` is a secret. */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms. */
  expiresAt: number;
  /** The portal's REST base, ending in `/rest/`. */
  restBase: string;
  /** The token's `server_endpoint` (its OAuth server), when Bitrix24 said. */
  serverEndpoint?: string;
}

/**
 * Renew this long before the access token expires, so a call that starts just before expiry does not
 * arrive just after it. Far below the token's hour: Bitrix24 asks apps not to refresh needlessly.
 */
export const RENEWAL_MARGIN_MS = 5 * 60_000;

export function isDueForRenewal(pair: TokenPair, now: number): boolean {
  return pair.expiresAt - now <= RENEWAL_MARGIN_MS;
}

/** Bitrix24's answers for an access token that expired, or (maybe) was killed by a refresh elsewhere. */
const TOKEN_REJECTIONS = new Set(["expired_token", "invalid_token"]);

export function isTokenRejection(error: unknown): boolean {
  return error instanceof TransferError && TOKEN_REJECTIONS.has(error.details.bitrix24?.error ?? "");
}

/** What the token endpoint's error means for the portal. */
export type TokenEndpointFailure =
  /** The refresh token is dead: used by someone else, expired, or the app was reinstalled. */
  | "dead-grant"
  /** The app itself is refused (`invalid_client`, `PAYMENT_REQUIRED`, …): an admin must act. */
  | "refused"
  /** The server failed; the refresh may or may not have happened. */
  | "transient";

export function tokenEndpointFailure(status: number, error: string | undefined): TokenEndpointFailure {
  if (error === "invalid_grant") return "dead-grant";
  if (status >= 500 || status === 429 || error === undefined) return "transient";
  return "refused";
}

/**
 * The pair's expiry from a token answer. The relative `expires_in` is preferred: it does not depend on
 * the server's clock agreeing with ours.
 */
export function expiryFromAnswer(
  expiresIn: number | undefined,
  expires: number | undefined,
  now: number,
): number {
  if (expiresIn !== undefined && expiresIn > 0) return now + expiresIn * 1000;
  if (expires !== undefined && expires > 0) return expires * 1000;
  // Unknown lifetime: assume the documented hour rather than refreshing on every call.
  return now + 3600 * 1000;
}
