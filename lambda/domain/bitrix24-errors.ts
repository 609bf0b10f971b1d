import type { ProblemCode } from "./problems.ts";

/**
 * How each documented Bitrix24 error is handled. `retry` errors are worth another attempt with backoff;
 * `credentials` errors mean the secret may have been rotated, so it is read again once.
 */
export interface ErrorPolicy {
  code: ProblemCode;
  retry: boolean;
  credentials?: boolean;
  /** Seconds to suggest to the caller when this ends the request. */
  retryAfter?: number;
}

const REJECTED: ErrorPolicy = { code: "TRANSFER_REJECTED", retry: false };
const MISCONFIGURED: ErrorPolicy = { code: "PORTAL_MISCONFIGURED", retry: false };
const AUTH: ErrorPolicy = { code: "PORTAL_MISCONFIGURED", retry: false, credentials: true };
const TRANSIENT: ErrorPolicy = { code: "UPSTREAM_ERROR", retry: true };

const POLICIES: Record<string, ErrorPolicy> = {
  CHAT_ID_EMPTY: REJECTED,
  USER_ID_EMPTY: REJECTED,
  QUEUE_ID_EMPTY: REJECTED,
  TRANSFER_ID_EMPTY: REJECTED,
  OPERATOR_WRONG: REJECTED,
  WRONG_CHAT: REJECTED,

  BOT_ID_ERROR: MISCONFIGURED,
  insufficient_scope: MISCONFIGURED,
  ACCESS_DENIED: MISCONFIGURED,
  WRONG_AUTH_TYPE: MISCONFIGURED,
  user_access_error: MISCONFIGURED,
  ERROR_METHOD_NOT_FOUND: MISCONFIGURED,
  PORTAL_DELETED: MISCONFIGURED,
  INVALID_REQUEST: MISCONFIGURED,
  NO_AUTH_FOUND: AUTH,
  INVALID_CREDENTIALS: AUTH,
  invalid_token: AUTH,
  expired_token: AUTH,

  QUERY_LIMIT_EXCEEDED: { code: "RATE_LIMITED", retry: true, retryAfter: 1 },
  // The method's operating-time budget is spent: Bitrix24 blocks it for 10 minutes, so retrying now is futile.
  OPERATION_TIME_LIMIT: { code: "RATE_LIMITED", retry: false, retryAfter: 600 },
  // REST blocked by Bitrix24 for overload: only their support lifts it.
  OVERLOAD_LIMIT: { code: "UPSTREAM_ERROR", retry: false },
  INTERNAL_SERVER_ERROR: TRANSIENT,
  ERROR_UNEXPECTED_ANSWER: TRANSIENT,
};

/** Policy for an error envelope, falling back on the HTTP status for codes we do not know. */
export function errorPolicy(status: number, error: string | undefined): ErrorPolicy {
  const known = error === undefined ? undefined : POLICIES[error];
  if (known) return known;
  if (status === 429) return { code: "RATE_LIMITED", retry: false, retryAfter: 60 };
  if (status >= 500) return TRANSIENT;
  if (status === 401) return AUTH;
  return { code: "UPSTREAM_ERROR", retry: false };
}
