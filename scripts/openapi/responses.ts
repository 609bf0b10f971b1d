import type * as z from "zod";
import { PROBLEMS, type ProblemCode } from "../../lambda/domain/problems.ts";
import {
  codesReached,
  EXAMPLE_REQUEST_ID,
  exampleProblem,
  PROBLEM_CATALOGUE,
  PROBLEM_CODES,
} from "./problem-catalogue.ts";
import {
  allowHeader,
  batchResponse,
  cacheControlHeader,
  chatReadResponse,
  gatewayMessage,
  problemWith,
  replayedHeader,
  retryAfterHeader,
  transferResponse,
} from "./response-schemas.ts";

/**
 * Every answer of `POST /transfers`, as a table the document is generated from and the tests validate
 * real answers against: status → media type → zod schema, headers and examples.
 */

export const PROBLEM_JSON = "application/problem+json";
export const JSON_TYPE = "application/json";

export interface MediaDoc {
  /** Its name under components/schemas. */
  schemaId: string;
  schema: z.ZodType;
  /** Names under components/examples. */
  examples: string[];
}

export interface HeaderUse {
  /** Name under components/headers. */
  header: keyof typeof HEADERS;
  required: boolean;
}

export interface ResponseDoc {
  description: string;
  content: Partial<Record<typeof JSON_TYPE | typeof PROBLEM_JSON, MediaDoc>>;
  headers: HeaderUse[];
}

export const HEADERS = {
  "Retry-After": { schema: retryAfterHeader, description: "Seconds to wait before trying again" },
  "idempotent-replayed": {
    schema: replayedHeader,
    description:
      "Present on a replay: the stored answer to an earlier request with the same Idempotency-Key (24 h)",
  },
  Allow: { schema: allowHeader, description: "The only method the resource accepts" },
  "Cache-Control": {
    schema: cacheControlHeader,
    description: "On every answer of the function: transfers are never cached",
  },
} as const;

const toUser12 = {
  transferred: true,
  chatId: 112,
  target: { operatorId: 12 },
  leave: false,
  chat: { state: "withUser", userId: 12, botInChat: null },
  portal: "main",
};

const sampleTransfers = {
  chatRead: {
    chatId: 112,
    dialogId: "chat112",
    holder: { kind: "none" },
    dialogue: "open",
    sessionId: 501,
    lineId: 3,
    crm: { entityType: "LEAD", entityId: 77 },
    portal: "main",
    requestId: EXAMPLE_REQUEST_ID,
  },
  single: {
    ...toUser12,
    requestId: EXAMPLE_REQUEST_ID,
  },
  batchDone: {
    succeeded: 2,
    failed: 0,
    results: [
      { ...toUser12 },
      {
        transferred: true,
        chatId: 113,
        target: { queueId: 3 },
        leave: true,
        chat: { state: "inQueue", lineId: 3, botInChat: true },
        portal: "main",
      },
    ],
    requestId: EXAMPLE_REQUEST_ID,
  },
  batchPartial: {
    succeeded: 1,
    failed: 1,
    results: [
      { ...toUser12 },
      {
        transferred: false,
        chatId: 113,
        target: { queueId: 3 },
        problem: (() => {
          const { requestId: _shared, ...problem } = exampleProblem("TRANSFER_REJECTED");
          return {
            ...problem,
            detail: "Bitrix24 refused this transfer in the batch with WRONG_CHAT",
            bitrix24: { error: "WRONG_CHAT", description: "You can not redirect to this operator" },
          };
        })(),
      },
    ],
    requestId: EXAMPLE_REQUEST_ID,
  },
};

export interface ExampleDoc {
  summary: string;
  value: unknown;
}

/** components/examples: one per problem code (named by the code) and one per other answer. */
export const EXAMPLES: Record<string, ExampleDoc> = {
  Transferred: { summary: "A single transfer Bitrix24 confirmed", value: sampleTransfers.single },
  BatchTransferred: { summary: "A batch whose every item was transferred", value: sampleTransfers.batchDone },
  BatchPartlyFailed: { summary: "A batch with one failed item", value: sampleTransfers.batchPartial },
  ChatRead: { summary: "A chat with its bot: no owner, dialogue open", value: sampleTransfers.chatRead },
  Unauthorized: { summary: "No bearer token", value: { message: "Unauthorized" } },
  Forbidden: { summary: "A wrong or revoked token", value: { message: "Forbidden" } },
  TooManyRequests: { summary: "The stage's throttling limit", value: { message: "Too Many Requests" } },
  RequestEntityTooLarge: {
    summary: "Over API Gateway's own 10 MB limit",
    value: { message: "Request Entity Too Large" },
  },
  InternalServerError: {
    summary: "The function itself crashed or timed out",
    value: { message: "Internal Server Error" },
  },
  ...Object.fromEntries(
    PROBLEM_CODES.map((code) => [code, { summary: PROBLEMS[code].title, value: exampleProblem(code) }]),
  ),
};

const gateway = (examples: string[]): MediaDoc => ({
  schemaId: "GatewayMessage",
  schema: gatewayMessage,
  examples,
});

function problemMedia(schemaId: string, codes: ProblemCode[]): MediaDoc {
  return { schemaId, schema: problemWith(codes), examples: codes };
}

const codeList = (codes: ProblemCode[]) =>
  codes.map((code) => `- \`${code}\`: ${PROBLEM_CATALOGUE[code].when}`).join("\n");

/** The problem answers of one status on POST /transfers. */
function problemResponse(status: number, summary: string, extra: Partial<ResponseDoc> = {}): ResponseDoc {
  const codes = codesReached("operation", status);
  return {
    description: `${summary}\n\n${codeList(codes)}`,
    content: { [PROBLEM_JSON]: problemMedia(`Problem${status}`, codes), ...extra.content },
    headers: extra.headers ?? [{ header: "Cache-Control", required: true }],
  };
}

const cacheControl = (required: boolean): HeaderUse => ({ header: "Cache-Control", required });

export const OPERATION_RESPONSES: Record<string, ResponseDoc> = {
  "200": {
    description:
      "Done: Bitrix24 confirmed the transfer (`result === true`; nothing else counts as done), or every item of a batch",
    content: {
      [JSON_TYPE]: {
        schemaId: "TransferOrBatchResponse",
        schema: transferResponse.or(batchResponse),
        examples: ["Transferred", "BatchTransferred"],
      },
    },
    headers: [cacheControl(true), { header: "idempotent-replayed", required: false }],
  },
  "207": {
    description:
      "A batch in which some items failed: each failed item carries its own problem. Only items that failed with a retryable error were sent again; transferred items are never retried.",
    content: {
      [JSON_TYPE]: { schemaId: "BatchResponse", schema: batchResponse, examples: ["BatchPartlyFailed"] },
    },
    headers: [cacheControl(true), { header: "idempotent-replayed", required: false }],
  },
  "400": problemResponse(400, "The request is malformed; fix it before sending it again."),
  "401": {
    description: "API Gateway: no bearer token (the function did not run)",
    content: { [JSON_TYPE]: gateway(["Unauthorized"]) },
    headers: [],
  },
  "403": problemResponse(
    403,
    'API Gateway: a wrong or revoked token (the function did not run, `{"message": "Forbidden"}`); or the function: the client may not use the portal.',
    { content: { [JSON_TYPE]: gateway(["Forbidden"]) } },
  ),
  "404": problemResponse(404, "The named portal does not exist."),
  "409": problemResponse(
    409,
    "The chat is not the bot's to hand over (nothing was sent), or a duplicate of a request that is still running (with Retry-After).",
    { headers: [cacheControl(true), { header: "Retry-After", required: false }] },
  ),
  "413": problemResponse(413, "The body is too large.", {
    content: { [JSON_TYPE]: gateway(["RequestEntityTooLarge"]) },
    headers: [cacheControl(false)],
  }),
  "415": problemResponse(415, "The body is not JSON."),
  "422": problemResponse(422, "Understood but refused; sending it again will not help."),
  "429": {
    description: "API Gateway: the stage's throttling limit was reached (the function did not run)",
    content: { [JSON_TYPE]: gateway(["TooManyRequests"]) },
    headers: [],
  },
  "500": problemResponse(500, "The service failed.", {
    content: { [JSON_TYPE]: gateway(["InternalServerError"]) },
    headers: [cacheControl(false)],
  }),
  "502": problemResponse(502, "Bitrix24 or the portal's configuration failed."),
  "503": problemResponse(503, "Temporarily unavailable; try again after `Retry-After` seconds.", {
    headers: [cacheControl(true), { header: "Retry-After", required: true }],
  }),
  "504": problemResponse(504, "Bitrix24 did not answer in time; the outcome may be unknown."),
};

/** The problem answers of one status on GET /transfers/chats/{chatId}: only the codes a read can meet. */
function readProblem(
  status: number,
  summary: string,
  codes: ProblemCode[],
  headers?: HeaderUse[],
): ResponseDoc {
  return {
    description: `${summary}\n\n${codeList(codes)}`,
    content: { [PROBLEM_JSON]: problemMedia(`ReadProblem${status}`, codes) },
    headers: headers ?? [cacheControl(true)],
  };
}

/** Every answer of `GET /transfers/chats/{chatId}`. */
export const READ_RESPONSES: Record<string, ResponseDoc> = {
  "200": {
    description: "The chat as imopenlines.dialog.get shows it now",
    content: {
      [JSON_TYPE]: { schemaId: "ChatReadResponse", schema: chatReadResponse, examples: ["ChatRead"] },
    },
    headers: [cacheControl(true)],
  },
  "400": readProblem(400, "The chat id is malformed.", ["VALIDATION_FAILED"]),
  "401": OPERATION_RESPONSES["401"] as ResponseDoc,
  "403": OPERATION_RESPONSES["403"] as ResponseDoc,
  "404": readProblem(404, "The named portal does not exist.", ["UNKNOWN_PORTAL"]),
  "422": readProblem(422, "Bitrix24 does not show this chat.", ["CHAT_NOT_READABLE"]),
  "429": OPERATION_RESPONSES["429"] as ResponseDoc,
  "500": OPERATION_RESPONSES["500"] as ResponseDoc,
  "502": readProblem(502, "Bitrix24 or the portal's configuration failed.", [
    "PORTAL_MISCONFIGURED",
    "UPSTREAM_ERROR",
  ]),
  "503": readProblem(
    503,
    "Temporarily unavailable; try again after `Retry-After` seconds.",
    ["RATE_LIMITED", "CREDENTIALS_UNAVAILABLE"],
    [cacheControl(true), { header: "Retry-After", required: true }],
  ),
  "504": readProblem(504, "Bitrix24 could not be reached in time.", ["UPSTREAM_TIMEOUT"]),
};

/**
 * Answers the deployed HTTP API never gives (it routes only POST /transfers), but the function does
 * where it receives every path and method: `npm start`, or a catch-all route in front of it.
 */
export const ROUTE_RESPONSES: Record<string, { status: number; doc: ResponseDoc }> = {
  NotFound: {
    status: 404,
    doc: {
      description: `A path other than /transfers.\n\n${codeList(["NOT_FOUND"])}`,
      content: { [PROBLEM_JSON]: problemMedia("RouteProblem404", ["NOT_FOUND"]) },
      headers: [cacheControl(true)],
    },
  },
  MethodNotAllowed: {
    status: 405,
    doc: {
      description: `A method other than POST.\n\n${codeList(["METHOD_NOT_ALLOWED"])}`,
      content: { [PROBLEM_JSON]: problemMedia("RouteProblem405", ["METHOD_NOT_ALLOWED"]) },
      headers: [cacheControl(true), { header: "Allow", required: true }],
    },
  },
};

/** The documented answer for a status on POST /transfers, on the read, or on another path or method. */
export function documentedResponse(
  status: number,
  where: "operation" | "read" | "other-routes",
): ResponseDoc | undefined {
  if (where === "operation") return OPERATION_RESPONSES[String(status)];
  if (where === "read") return READ_RESPONSES[String(status)];
  return Object.values(ROUTE_RESPONSES).find((route) => route.status === status)?.doc;
}
