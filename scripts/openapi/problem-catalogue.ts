import { refusal } from "../../lambda/bitrix24/refusal.ts";
import { guardRefusal } from "../../lambda/domain/chat-guard.ts";
import {
  PROBLEMS,
  type ProblemCode,
  type ProblemDetails,
  type ProblemDocument,
  TransferError,
  toProblemDocument,
} from "../../lambda/domain/problems.ts";
import { requireTransferInput } from "../../lambda/domain/transfer-request.ts";
import { classifyInvocation } from "../../lambda/events/invocation.ts";

/**
 * What the document says about each problem code. Typed as a record over every code, so a code added
 * to PROBLEMS does not compile until it is documented here.
 */

/**
 * Where a code can be answered: on `POST /transfers`; only where the function also receives other
 * paths and methods (`npm start`, a catch-all route); or never over HTTP (direct invocations and events).
 */
export type Reach = "operation" | "other-routes" | "not-http";

interface ProblemEntry {
  when: string;
  retry: string;
  reach: Reach;
  /** A realistic case, turned into the example document by the domain's own toProblemDocument. */
  example: ProblemDetails;
}

export const EXAMPLE_REQUEST_ID = "ZhNHJhhLjoEEPiw=";

/** The real messages, from the real validation code. */
function thrownBy(work: () => unknown): ProblemDetails {
  try {
    work();
  } catch (error) {
    if (error instanceof TransferError) return error.details;
  }
  throw new Error("expected a TransferError");
}

const unsupportedEvent = classifyInvocation(
  {
    version: "0",
    id: "890abcde-f123-4567-890a-bcdef1234567",
    "detail-type": "Scheduled Event",
    source: "aws.events",
    resources: ["arn:aws:events:eu-central-1:123456789012:rule/end-of-shift"],
    detail: {},
  },
  0,
);

/** The guard's real refusals, from the domain's own decision on realistic reads. */
function guardExample(chat: Parameters<typeof guardRefusal>[0]): ProblemDetails {
  const error = guardRefusal(chat);
  if (!error) throw new Error("expected the guard to refuse");
  return error.details;
}

export const PROBLEM_CATALOGUE: Record<ProblemCode, ProblemEntry> = {
  INVALID_JSON: {
    when: "the body is not UTF-8 JSON, or names one key twice in an object (JSON.parse would keep the last)",
    retry: "no: fix the request",
    reach: "operation",
    example: { detail: "the body is not valid JSON" },
  },
  VALIDATION_FAILED: {
    when: "the body (or the Idempotency-Key header) does not match the schema; `errors` lists every field",
    retry: "no: fix the request",
    reach: "operation",
    example: thrownBy(() => requireTransferInput({ chatId: 112, operatorID: 12 })),
  },
  UNSUPPORTED_EVENT: {
    when: "the function was invoked with an event it does not handle (a scheduled rule without input, SQS records, another EventBridge event); never an HTTP answer",
    retry: "no: fix the caller",
    reach: "not-http",
    example: {
      detail: unsupportedEvent.kind === "unsupported" ? unsupportedEvent.detail : "unsupported event",
    },
  },
  NOT_FOUND: {
    when: "a path other than /transfers, where the function serves every path (`npm start`, a catch-all route); the deployed HTTP API routes only POST /transfers and answers other requests itself",
    retry: "no",
    reach: "other-routes",
    example: { detail: "the only resource is POST /transfers" },
  },
  METHOD_NOT_ALLOWED: {
    when: "not POST, where the function serves every method; sent with `Allow: POST`",
    retry: "no",
    reach: "other-routes",
    example: { detail: "GET is not allowed; use POST" },
  },
  PORTAL_FORBIDDEN: {
    when: "the client's `clientPortals` list does not hold the request's portal (named, or the default); checked before any secret is read, for the whole batch",
    retry: "no: use a portal the client may use, or extend its list",
    reach: "operation",
    example: { detail: 'client "example-crm" may not use portal "branch-7"' },
  },
  UNKNOWN_PORTAL: {
    when: "the `portal` is not configured, or none is named and there is no default",
    retry: "no: fix the request or the configuration",
    reach: "operation",
    example: { detail: 'portal "branch-7" is not configured' },
  },
  REQUEST_IN_PROGRESS: {
    when: "a request with the same Idempotency-Key is still running",
    retry: "yes, after Retry-After: the replay then returns its answer",
    reach: "operation",
    example: {
      detail: "a request with this Idempotency-Key is still running; retry shortly to get its answer",
      retryAfter: 1,
    },
  },
  CHAT_NOT_WITH_BOT: {
    when: "the guard read the chat (imopenlines.dialog.get) and a person holds it or has been offered it (`chat.holder.userId` names them); nothing was sent. Also after a lost answer, when the read shows someone other than the target holding it",
    retry: 'no: the chat is with a person. Send "guard": false only to move it on purpose',
    reach: "operation",
    example: guardExample({
      chatId: 121,
      dialogId: "chat121",
      holder: { kind: "user", userId: 12 },
      dialogue: "open",
      sessionId: 501,
      lineId: 3,
    }),
  },
  DIALOG_CLOSED: {
    when: "the guard read the chat and its dialogue is closed (or it has none): Bitrix24 would open a new, empty one and hand that over; nothing was sent",
    retry: 'no: the conversation is over. Send "guard": false only to open a new one on purpose',
    reach: "operation",
    example: guardExample({
      chatId: 122,
      dialogId: "chat122",
      holder: { kind: "none" },
      dialogue: "closed",
      lineId: 3,
    }),
  },
  PAYLOAD_TOO_LARGE: {
    when: "the body is over 16 KiB",
    retry: "no",
    reach: "operation",
    example: { detail: "the body must be at most 16384 bytes" },
  },
  UNSUPPORTED_MEDIA_TYPE: {
    when: "the body is not sent as application/json",
    retry: "no",
    reach: "operation",
    example: { detail: "content type text/plain is not supported; send application/json" },
  },
  IDEMPOTENCY_KEY_REUSED: {
    when: "the Idempotency-Key was used with a different request in the last 24 hours",
    retry: "no: use a new key",
    reach: "operation",
    example: {
      detail: "this Idempotency-Key was used with a different request in the last 24 hours; use a new key",
    },
  },
  TRANSFER_REJECTED: {
    when: "Bitrix24 refused this transfer and did nothing: CHAT_ID_EMPTY, USER_ID_EMPTY, QUEUE_ID_EMPTY, TRANSFER_ID_EMPTY, OPERATOR_WRONG (unknown chat, no open dialogue, inactive/bot/extranet operator, or the chat's queue lock held twice in a row)",
    retry: "no: the chat, operator or queue is wrong (nothing was moved, so another target may be tried)",
    reach: "operation",
    example: {
      detail: "Bitrix24 rejected the transfer with OPERATOR_WRONG",
      bitrix24: { error: "OPERATOR_WRONG", description: "You can not redirect to this operator" },
    },
  },
  CHAT_NOT_READABLE: {
    when: "reading the chat (the guard, or GET /transfers/chats/{chatId}) met ACCESS_ERROR: no Open Lines chat has this id, or the webhook's user may not see its line; nothing was sent",
    retry: "no: fix the chat id, or grant the webhook's user the line's JOIN permission",
    reach: "operation",
    example: refusal(
      0,
      { error: "ACCESS_ERROR", description: "You do not have access to the specified dialog" },
      true,
    ).error.details,
  },
  INTERNAL_ERROR: {
    when: "the function is misconfigured or failed unexpectedly (logged)",
    retry: "later",
    reach: "operation",
    example: { detail: "the service is misconfigured; its operators have been told" },
  },
  PORTAL_MISCONFIGURED: {
    when: "the portal's secret is missing, malformed, still the placeholder or has no clientId; Bitrix24 refused the credentials or found no bot (ACCESS_DENIED: no CLIENT_ID; BOT_ID_ERROR: no bot registered with that CLIENT_ID; INVALID_CREDENTIALS, NO_AUTH_FOUND, insufficient_scope, WRONG_AUTH_TYPE, PORTAL_DELETED, …); the portal refused valid credentials for a reason an admin fixes (APPLICATION_NOT_FOUND: app uninstalled or deactivated; ACCESS_DENIED: no subscription; authorization_error, user_access_error: the user); the token server refused the app (PAYMENT_REQUIRED, invalid_scope, invalid_client); or the portal redirected somewhere other than its own new address",
    retry: "no: an admin must fix the portal or its secret (`npm run doctor` tells what)",
    reach: "operation",
    example: {
      detail:
        'Bitrix24 found no chat bot for these credentials (BOT_ID_ERROR): for a webhook, "clientId" in the portal\'s secret must be the CLIENT_ID given to imbot.register (or the botToken given to imbot.v2.Bot.register) through a webhook; a bot another application created cannot be driven by a webhook; an application must register its own bot',
      bitrix24: { error: "BOT_ID_ERROR", description: "Bot not found" },
    },
  },
  UPSTREAM_ERROR: {
    when: "Bitrix24 refused in a way that ran nothing but is not about the transfer (CONNECTION_ERROR: the portal could not reach its authorization server; an unknown 4xx code; a connection that could not be made) after retries",
    retry: "yes: nothing was done",
    reach: "operation",
    example: { detail: "the connection to Bitrix24 failed (ECONNREFUSED)" },
  },
  OUTCOME_UNKNOWN: {
    when: "the request reached Bitrix24 but its answer was lost or broken (a timeout or reset after sending, any 5xx or proxy page, ERROR_CORE, an unreadable or unconfirmed 200). A transfer is not idempotent, so it was not sent again",
    retry:
      "only after reading the chat (GET /transfers/chats/{chatId}): it may already have moved. Where a read could settle it (an answer came back or the connection broke, and the target leaves a mark: a user made owner, another line written into the session), the function already did",
    reach: "operation",
    example: {
      detail:
        "Bitrix24 did not answer within 8000 ms after the request was sent; the outcome is unknown: Bitrix24 may have done it. Read the chat (GET /transfers/chats/{chatId}) before sending this again",
    },
  },
  RATE_LIMITED: {
    when: "still QUERY_LIMIT_EXCEEDED after retries (Retry-After: 1), OPERATION_TIME_LIMIT (Retry-After: 600; a batch command's is re-sent in the batch's next round first), or OVERLOAD_LIMIT: REST blocked for overload (Retry-After: 600). Nothing ran",
    retry: "yes, after Retry-After",
    reach: "operation",
    example: {
      detail: "Bitrix24 is limiting requests for this portal (QUERY_LIMIT_EXCEEDED); try again later",
      bitrix24: { error: "QUERY_LIMIT_EXCEEDED", description: "Too many requests" },
      retryAfter: 1,
    },
  },
  IDEMPOTENCY_UNAVAILABLE: {
    when: "the idempotency store (DynamoDB) could not be reached, so nothing was done",
    retry: "yes, after Retry-After",
    reach: "operation",
    example: {
      detail: "the idempotency store could not be reached, so nothing was done; try again shortly",
      retryAfter: 2,
    },
  },
  CREDENTIALS_UNAVAILABLE: {
    when: "Secrets Manager throttled or failed",
    retry: "yes, after Retry-After",
    reach: "operation",
    example: { detail: "Secrets Manager failed (ThrottlingException); try again shortly", retryAfter: 2 },
  },
  UPSTREAM_TIMEOUT: {
    when: "Bitrix24 could not be reached before the deadline (no connection was made, so nothing was done)",
    retry: "yes",
    reach: "operation",
    example: { detail: "Bitrix24 did not answer within 8000 ms" },
  },
};

export const PROBLEM_CODES = Object.keys(PROBLEMS) as ProblemCode[];

export function exampleProblem(code: ProblemCode): ProblemDocument {
  return toProblemDocument(new TransferError(code, PROBLEM_CATALOGUE[code].example), EXAMPLE_REQUEST_ID);
}

export const codesReached = (reach: Reach, status?: number): ProblemCode[] =>
  PROBLEM_CODES.filter(
    (code) =>
      PROBLEM_CATALOGUE[code].reach === reach && (status === undefined || PROBLEMS[code].status === status),
  );
