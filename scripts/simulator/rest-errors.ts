/**
 * Bitrix24's error envelope and the system errors the simulator answers with.
 *
 * Statuses follow the current "Error Codes" page of bitrix24/b24restdocs (error-codes.md with
 * _includes/system-errors.md): authorization and access errors are 401 there, including
 * `INVALID_CREDENTIALS` (no active webhook with that user id and code) and `insufficient_scope`.
 * Older revisions of that page said 403 for both.
 */

export interface ErrorEnvelope {
  error: string;
  error_description: string;
}

export class RestError extends Error {
  readonly status: number;
  readonly code: string;
  readonly description: string;

  constructor(status: number, code: string, description: string) {
    super(`${code}: ${description}`);
    this.name = "RestError";
    this.status = status;
    this.code = code;
    this.description = description;
  }

  toEnvelope(): ErrorEnvelope {
    return { error: this.code, error_description: this.description };
  }
}

/** A method's own validation error: HTTP 400, as for all imopenlines.bot.session.transfer errors. */
export function methodError(code: string, description: string): RestError {
  return new RestError(400, code, description);
}

export const systemErrors = {
  /** The request carries neither a webhook code nor an access token. */
  noAuthFound: () => new RestError(401, "NO_AUTH_FOUND", "Wrong authorization data"),
  /** No active webhook with this user id and code (unknown, revoked or mistyped). */
  invalidCredentials: () => new RestError(401, "INVALID_CREDENTIALS", "Invalid request credentials"),
  /** An access token the portal never issued, or one killed by a refresh or an uninstall. */
  invalidToken: () => new RestError(401, "invalid_token", "The access token provided is invalid"),
  expiredToken: () => new RestError(401, "expired_token", "The access token provided has expired"),
  insufficientScope: () =>
    new RestError(
      401,
      "insufficient_scope",
      "The request requires higher privileges than provided by the webhook token",
    ),
  methodNotFound: () => new RestError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!"),
  queryLimitExceeded: () => new RestError(503, "QUERY_LIMIT_EXCEEDED", "Too many requests"),
  batchMethodNotAllowed: () =>
    new RestError(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage"),
  batchLengthExceeded: () => new RestError(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded"),
  /** A body that cannot be decoded (Bitrix24 maps ArgumentException to ERROR_ARGUMENT). */
  badArgument: (description: string) => new RestError(400, "ERROR_ARGUMENT", description),
  internal: () => new RestError(500, "INTERNAL_SERVER_ERROR", "Internal server error"),
} as const;
