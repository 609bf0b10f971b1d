/*
 * Text that came from Bitrix24 (or anyone between us and it) is hostile: it may quote the webhook URL
 * or a token we sent, and it may be megabytes long. Nothing of it reaches a problem, a log line, a
 * queue message or an error before it went through here.
 */

/** Bitrix24's error codes are identifiers (`QUERY_LIMIT_EXCEEDED`, `invalid_token`); anything else is not one. */
export const ERROR_CODE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** Stands in for an upstream `error` that is not a plain code or that carries a secret. */
export const UNREADABLE_ERROR_CODE = "UNREADABLE_ERROR";
export const MAX_DESCRIPTION_CHARS = 300;
/** Our own details are short; this only bounds what a bug or an upstream text could make of them. */
export const MAX_DETAIL_CHARS = 1000;
export const REDACTED = "[REDACTED]";

/** Shorter values are not worth replacing: they would mangle ordinary words and are no secret anyway. */
const MIN_SECRET_LENGTH = 6;

/**
 * Secrets by shape, for text whose secret values we do not know (the last line of defence): webhook
 * paths, bearer tokens and the OAuth parameters in a query string or JSON.
 */
const SECRET_SHAPES: [RegExp, string][] = [
  [/\/rest\/(\d+)\/[^/\s"'?&]+/g, `/rest/$1/${REDACTED}`],
  [/(Bearer\s+)[^\s"']+/gi, `$1${REDACTED}`],
  [/((?:access_token|refresh_token|client_secret|auth)(?:=|"\s*:\s*"))[^\s"'&,}]+/gi, `$1${REDACTED}`],
];

/** The webhook code inside a REST base `https://<portal>/rest/<user>/<code>/`. */
const WEBHOOK_CODE = /\/rest\/\d+\/([^/?#]+)/;

/**
 * Every secret value of a REST endpoint: the base itself, its webhook code, the access token sent with
 * it, and the bot's CLIENT_ID (with the webhook, it is all it takes to act as the bot).
 */
export function endpointSecrets(restBase: string, auth?: unknown, clientId?: unknown): string[] {
  const secrets = [restBase];
  const code = WEBHOOK_CODE.exec(restBase)?.[1];
  if (code !== undefined) secrets.push(code);
  if (typeof auth === "string") secrets.push(auth);
  if (typeof clientId === "string") secrets.push(clientId);
  return secrets;
}

/** Replaces every known secret value (also URL-encoded) and every secret-shaped run of text. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    result = result.replaceAll(secret, REDACTED).replaceAll(encodeURIComponent(secret), REDACTED);
  }
  for (const [shape, replacement] of SECRET_SHAPES) result = result.replace(shape, replacement);
  return result;
}

/** At most `max` characters; a cut is marked so nobody mistakes it for the whole text. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max - 1)}…`;
}

/** Redacted before cut: a cut must not leave the head of a secret behind, unrecognisable. */
export function safeText(text: string, max: number, secrets: readonly string[] = []): string {
  return cutText(redactSecrets(text, secrets), max);
}

/** The upstream `error` when it is a plain code that carries no secret; otherwise a fixed placeholder. */
export function safeErrorCode(error: string, secrets: readonly string[] = []): string {
  if (!ERROR_CODE_PATTERN.test(error)) return UNREADABLE_ERROR_CODE;
  if (redactSecrets(error, secrets) !== error) return UNREADABLE_ERROR_CODE;
  // A code that is a piece of a secret (say, the first 64 characters of a token) is no code either;
  // a secret shorter than that length cannot hold one.
  if (error.length >= MIN_SECRET_LENGTH && secrets.some((secret) => secret.includes(error)))
    return UNREADABLE_ERROR_CODE;
  return error;
}

/** What Bitrix24 said, as problems carry it (problems.ts `Bitrix24Error`; spelt out here to keep problems.ts free of a cycle). */
interface UpstreamError {
  error: string;
  description?: string;
}

/** The parts of a problem's details made of text. */
interface TextDetails {
  detail: string;
  errors?: { path: string; message: string }[];
  bitrix24?: UpstreamError;
}

/** Bitrix24's error code and description as they may be shown and logged. */
export function upstreamError(
  error: string,
  description: unknown,
  secrets: readonly string[] = [],
): UpstreamError {
  const code = safeErrorCode(error, secrets);
  if (typeof description !== "string") return { error: code };
  return { error: code, description: safeText(description, MAX_DESCRIPTION_CHARS, secrets) };
}

/** A refusal lists this many field errors at most: enough to fix a request, too few to amplify one. */
export const MAX_FIELD_ERRORS = 20;
const MAX_FIELD_TEXT = 200;

/**
 * The last line of defence, applied to every problem as it is made: whatever a build site forgot,
 * no problem carries a secret-shaped text or an unbounded one into an answer, a log or a queue.
 */
export function boundedDetails<T extends TextDetails>(details: T): T {
  const bounded: T = { ...details, detail: safeText(details.detail, MAX_DETAIL_CHARS) };
  if (details.errors) {
    bounded.errors = details.errors.slice(0, MAX_FIELD_ERRORS).map(({ path, message }) => ({
      path: safeText(path, MAX_FIELD_TEXT),
      message: safeText(message, MAX_FIELD_TEXT),
    }));
  }
  if (details.bitrix24)
    bounded.bitrix24 = upstreamError(details.bitrix24.error, details.bitrix24.description);
  return bounded;
}
