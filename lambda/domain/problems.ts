import type { ChatState } from "./chat-state.ts";
import { boundedDetails } from "./safe-text.ts";

/**
 * Every failure the service reports, with one stable machine-readable code each. Callers branch on
 * `code`; `status` is what HTTP callers see, and direct invocations throw an error carrying the code.
 */
export const PROBLEMS = {
  INVALID_JSON: { status: 400, title: "The body is not valid JSON" },
  VALIDATION_FAILED: { status: 400, title: "The request does not match the schema" },
  UNSUPPORTED_EVENT: { status: 400, title: "The function was invoked with an event it does not handle" },
  NOT_FOUND: { status: 404, title: "No such resource" },
  PORTAL_FORBIDDEN: { status: 403, title: "This client may not use the portal" },
  METHOD_NOT_ALLOWED: { status: 405, title: "Method not allowed" },
  UNKNOWN_PORTAL: { status: 404, title: "The portal is not configured" },
  REQUEST_IN_PROGRESS: { status: 409, title: "A request with this Idempotency-Key is still running" },
  CHAT_NOT_WITH_BOT: { status: 409, title: "A person holds the chat or has been offered it" },
  DIALOG_CLOSED: { status: 409, title: "The chat has no open dialogue" },
  PAYLOAD_TOO_LARGE: { status: 413, title: "The body is too large" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: "The body must be application/json" },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: "The Idempotency-Key was used with a different request" },
  TRANSFER_REJECTED: { status: 422, title: "Bitrix24 rejected the transfer" },
  CHAT_NOT_READABLE: { status: 422, title: "Bitrix24 does not show this chat to the webhook's user" },
  INTERNAL_ERROR: { status: 500, title: "The service failed unexpectedly" },
  PORTAL_MISCONFIGURED: { status: 502, title: "The portal's credentials or chat bot are not usable" },
  UPSTREAM_ERROR: { status: 502, title: "Bitrix24 failed or answered unexpectedly" },
  OUTCOME_UNKNOWN: { status: 502, title: "Bitrix24 may or may not have done it" },
  RATE_LIMITED: { status: 503, title: "Bitrix24 is rate-limiting this portal" },
  IDEMPOTENCY_UNAVAILABLE: { status: 503, title: "The idempotency store is unavailable" },
  CREDENTIALS_UNAVAILABLE: { status: 503, title: "The portal's credentials could not be read" },
  UPSTREAM_TIMEOUT: { status: 504, title: "Bitrix24 did not answer in time" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

/** Tells the caller to look before trying again: a second transfer would move the chat once more. */
export const UNKNOWN_OUTCOME_ADVICE =
  "the outcome is unknown: Bitrix24 may have done it. Read the chat (GET /transfers/chats/{chatId}) before sending this again";

/**
 * An unexpected failure (a bug, not Bitrix24) that struck while calls to Bitrix24 may have been sent:
 * what it interrupted may have run, so it is reported as unknown, never as safe to send again.
 */
export function interruptedOutcome(): TransferError {
  return new TransferError("OUTCOME_UNKNOWN", {
    detail: `the service failed unexpectedly while calling Bitrix24; ${UNKNOWN_OUTCOME_ADVICE}`,
  });
}

export interface FieldError {
  path: string;
  message: string;
}

export interface Bitrix24Error {
  error: string;
  description?: string;
}

export interface ProblemDetails {
  detail: string;
  errors?: FieldError[];
  bitrix24?: Bitrix24Error;
  /** Seconds the caller should wait before trying again (sent as `Retry-After`). */
  retryAfter?: number;
  /** How many Bitrix24 calls were made before giving up, for logs. */
  attempts?: number;
  /** Whether the hand-over's message was written before the transfer failed. */
  message?: { sent: boolean; code?: ProblemCode; detail?: string };
  /** The chat as Bitrix24 showed it, when a read decided the problem (who holds it, its dialogue). */
  chat?: ChatState;
  /** Internal, never rendered: the call timed out, so Bitrix24 may still be running it; a read settles nothing yet. */
  mayStillRun?: boolean;
}

/**
 * A failure with a stable code. Its message is always safe to log and to show: it is built only
 * from our own texts and Bitrix24's error codes, never from secrets or URLs.
 */
export class TransferError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly details: ProblemDetails;

  constructor(code: ProblemCode, unbounded: ProblemDetails) {
    const details = boundedDetails(unbounded);
    super(`${code}: ${details.detail}`);
    // Lambda reports the name as errorType: async failure destinations and alarms can filter on the code.
    this.name = code;
    this.code = code;
    this.status = PROBLEMS[code].status;
    this.details = details;
  }
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  requestId: string;
  errors?: FieldError[];
  bitrix24?: Bitrix24Error;
  message?: ProblemDetails["message"];
  chat?: ChatState;
}

export const PROBLEM_TYPE_BASE = "urn:b24-transfer:problem:";

/** RFC 9457 problem details. */
export function toProblemDocument(error: TransferError, requestId: string): ProblemDocument {
  const { detail, errors, bitrix24, message, chat } = error.details;
  const doc: ProblemDocument = {
    type: PROBLEM_TYPE_BASE + error.code,
    title: PROBLEMS[error.code].title,
    status: error.status,
    detail,
    code: error.code,
    requestId,
  };
  if (errors) doc.errors = errors;
  if (bitrix24) doc.bitrix24 = bitrix24;
  if (message) doc.message = message;
  if (chat) doc.chat = chat;
  return doc;
}
