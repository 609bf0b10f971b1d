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

/**
 * A portal's own checks of credentials that are themselves valid (`onRestCheckAuth` of
 * rest/lib/apauth/auth.php for webhooks and rest/lib/oauth/auth.php for applications). Each refusal is
 * an `OAuthException` (rest/lib/oauthexception.php), whose status is `CRestServer::STATUS_UNAUTHORIZED`
 * (401) unless the error names another; the docs (_includes/system-errors.md) say 403 for
 * ACCESS_DENIED and 503 for OVERLOAD_LIMIT. Nothing runs: the method is never called.
 */
export type AuthRefusal =
  /** `HoldEntity::is(TYPE_WEBHOOK | TYPE_APP, …)`: REST blocked for these credentials because of overload. */
  | "overload-hold"
  /** `Access::isAvailable` false: REST needs a subscription (webhook) or a commercial plan (app). */
  | "no-subscription"
  /** `CRestUtil::makeAuth` false: the user the credentials act as cannot be authorized. */
  | "user-cannot-authorize"
  /** oauth/auth.php `check`: `OAuthService::register()` failed, the portal cannot reach its auth server. */
  | "auth-server-unreachable"
  /** oauth/auth.php: `AppTable::getByClientId` finds no app, or its `ACTIVE` is not 'Y' (uninstalled or deactivated). */
  | "app-inactive"
  /** oauth/auth.php: `CRestUtil::checkAppAccess` false, the user has no access to the app. */
  | "user-no-app-access";

/** The refusal as the module answers it to this kind of caller; undefined when its check does not apply. */
export function authRefusalError(refusal: AuthRefusal, caller: "webhook" | "app"): RestError | undefined {
  switch (refusal) {
    case "overload-hold":
      return new RestError(401, "OVERLOAD_LIMIT", "REST API is blocked due to overload.");
    case "no-subscription":
      return new RestError(
        401,
        "ACCESS_DENIED",
        caller === "webhook"
          ? "REST is available only by subscription."
          : "REST is available only on commercial plans.",
      );
    case "user-cannot-authorize":
      return new RestError(401, "authorization_error", "Unable to authorize user");
    case "auth-server-unreachable":
      return caller === "app"
        ? new RestError(401, "CONNECTION_ERROR", "Error connecting to authorization server")
        : undefined;
    case "app-inactive":
      return caller === "app"
        ? new RestError(401, "APPLICATION_NOT_FOUND", "Application not found")
        : undefined;
    case "user-no-app-access":
      return caller === "app"
        ? new RestError(401, "user_access_error", "The user does not have access to the application.")
        : undefined;
  }
}
