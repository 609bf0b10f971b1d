import type { ProblemCode } from "../domain/problems.ts";

/**
 * How each Bitrix24 error is handled (statuses and meanings: shared contract, from `rest/lib` and
 * `imopenlines/lib/rest.php`). The question that matters most is whether the method may have run:
 * a transfer is not idempotent (`imopenlines/lib/chat.php` `transferToQueue` takes the chat away from
 * whoever holds it), so only a call Bitrix24 certainly refused before running it may be sent again.
 */
export interface ErrorPolicy {
  code: ProblemCode;
  /** Refused before it ran, and worth another attempt with backoff. */
  retry: boolean;
  /** The method may have run: never re-send a non-idempotent call. */
  outcomeUnknown?: boolean;
  /** The secret may have been rotated, so it is read again once. */
  credentials?: boolean;
  /** A batch command refused alone before it ran: the batch's next round sends it again. */
  retryInBatch?: boolean;
  /** A refusal that can be momentary: one more attempt after this many ms. */
  retryOnceAfterMs?: number;
  /** Seconds to suggest to the caller when this ends the request. */
  retryAfter?: number;
}

const REJECTED: ErrorPolicy = { code: "TRANSFER_REJECTED", retry: false };
const MISCONFIGURED: ErrorPolicy = { code: "PORTAL_MISCONFIGURED", retry: false };
const AUTH: ErrorPolicy = { code: "PORTAL_MISCONFIGURED", retry: false, credentials: true };
const UNKNOWN: ErrorPolicy = { code: "OUTCOME_UNKNOWN", retry: false, outcomeUnknown: true };

/**
 * `Chat::transfer()` returning false is OPERATOR_WRONG, and one of its reasons is the chat's queue lock
 * (`Tools\Lock` in `imopenlines/lib/chat.php` `transfer`) held by a distribution running at that moment.
 * Nothing ran, so one more attempt a moment later is safe.
 */
export const LOCK_RETRY_MS = 500;

/**
 * Bitrix24's codes are free-form strings from the network: looked up by own keys only (a Map), so a
 * code named like an `Object.prototype` member (`constructor`, `__proto__`, `toString`) is an unknown
 * code, not an inherited function.
 */
const POLICIES: ReadonlyMap<string, ErrorPolicy> = new Map(
  Object.entries({
    CHAT_ID_EMPTY: REJECTED,
    USER_ID_EMPTY: REJECTED,
    QUEUE_ID_EMPTY: REJECTED,
    TRANSFER_ID_EMPTY: REJECTED,
    OPERATOR_WRONG: { ...REJECTED, retryOnceAfterMs: LOCK_RETRY_MS },
    // Not thrown by the transfer method (rest.php botSessionTransfer); older docs list it, so it stays a refusal.
    WRONG_CHAT: REJECTED,
    // dialogGet: no such Open Lines chat, or the user may not join its line (Chat::hasAccess → Config::canJoin).
    ACCESS_ERROR: { code: "CHAT_NOT_READABLE", retry: false },

    BOT_ID_ERROR: MISCONFIGURED,
    insufficient_scope: MISCONFIGURED,
    WRONG_AUTH_TYPE: MISCONFIGURED,
    ERROR_METHOD_NOT_FOUND: MISCONFIGURED,
    PORTAL_DELETED: MISCONFIGURED,
    INVALID_REQUEST: MISCONFIGURED,
    // The portal's own checks of credentials that are valid (rest/lib/oauth/auth.php and
    // rest/lib/apauth/auth.php onRestCheckAuth, OAuthException: 401; the docs say 403 for some):
    // configuration an admin fixes on the portal, so the secret is not read again for them.
    ACCESS_DENIED: MISCONFIGURED,
    APPLICATION_NOT_FOUND: MISCONFIGURED,
    authorization_error: MISCONFIGURED,
    user_access_error: MISCONFIGURED,
    // rest.php STATUS_PAYMENT_REQUIRED is "reserved"; the token server answers it (settings/oauth/index.md).
    PAYMENT_REQUIRED: MISCONFIGURED,
    // Credentials that may have been rotated or renewed: the secret is read again (or the token renewed) once.
    NO_AUTH_FOUND: AUTH,
    INVALID_CREDENTIALS: AUTH,
    invalid_token: AUTH,
    expired_token: AUTH,

    // Refused by the leaky bucket before the method runs.
    QUERY_LIMIT_EXCEEDED: { code: "RATE_LIMITED", retry: true, retryAfter: 1 },
    // LoadLimiter (rest/lib/engine/access/loadlimiter.php): the method's operating time over the last
    // ten one-minute baskets is spent, and it is refused before it runs. A call fails fast (the block
    // lasts until enough baskets expire); a batch command is refused alone, so a later round re-sends it.
    OPERATION_TIME_LIMIT: { code: "RATE_LIMITED", retry: false, retryInBatch: true, retryAfter: 600 },
    // HoldEntity: REST blocked for this app or webhook because of overload, before anything ran
    // (auth.php onRestCheckAuth; the docs: 503, a manual block lifted by Bitrix24's support): not
    // retried now, reported as a rate limit that ran nothing.
    OVERLOAD_LIMIT: { code: "RATE_LIMITED", retry: false, retryAfter: 600 },
    // The portal could not reach its authorization server to check the token (auth.php check): nothing ran.
    CONNECTION_ERROR: { code: "UPSTREAM_ERROR", retry: true },
    // Unhandled exceptions: the method may have done its work before failing.
    ERROR_CORE: UNKNOWN,
    INTERNAL_SERVER_ERROR: UNKNOWN,
    ERROR_UNEXPECTED_ANSWER: UNKNOWN,
  }),
);

/** Policy for an error envelope, falling back on the HTTP status for codes we do not know. */
export function errorPolicy(status: number, error: string | undefined): ErrorPolicy {
  const known = error === undefined ? undefined : POLICIES.get(error);
  if (known) return known;
  if (status === 429) return { code: "RATE_LIMITED", retry: false, retryAfter: 60 };
  // A server or proxy fault: the request may have reached Bitrix24 and run.
  if (status >= 500) return UNKNOWN;
  // An unknown refusal of the credentials: reported, but not worth a re-read of the secret.
  if (status === 401) return MISCONFIGURED;
  return { code: "UPSTREAM_ERROR", retry: false };
}
