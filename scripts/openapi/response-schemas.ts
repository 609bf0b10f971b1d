import * as z from "zod";
import { PROBLEM_TYPE_BASE, PROBLEMS, type ProblemCode } from "../../lambda/domain/problems.ts";
import { MAX_BATCH_ITEMS } from "../../lambda/domain/transfer-request.ts";

/**
 * What the function answers, as zod schemas. They generate the OpenAPI document's response schemas and
 * validate real answers of the bundle in test/openapi.test.ts, so the document cannot drift from what
 * the function does. Objects are strict: a field the function starts sending must be documented first.
 */

const id = z.int().positive();

const PROBLEM_CODES = Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]];

export const transferTarget = z
  .union([
    z.strictObject({ operatorId: id.describe("the employee who received the chat (Bitrix24 USER_ID)") }),
    z.strictObject({ queueId: id.describe("the open line (queue) that received it (Bitrix24 QUEUE_ID)") }),
    z.strictObject({
      anyOperator: z.literal(true).describe("the chat's own line, to whichever operator is free"),
    }),
  ])
  .describe("Where the chat went: exactly one of operatorId, queueId or anyOperator");

export const messageOutcome = z
  .strictObject({
    sent: z.boolean().describe("Bitrix24 confirmed the message (result === true)"),
    code: z
      .enum(PROBLEM_CODES)
      .optional()
      .describe("why not, when not (OUTCOME_UNKNOWN: it may have been written)"),
    detail: z.string().optional(),
  })
  .describe("Whether the request's message was written into the chat before the hand-over");

export const chatAfterHandOver = z
  .strictObject({
    state: z
      .enum(["withUser", "inQueue"])
      .describe(
        "withUser: the user was made the chat's owner (chat.php transferToOperator → Chat::answer); inQueue: it waits in a line's queue for distribution (transferToQueue, endBotSession)",
      ),
    userId: id.optional().describe("the user, for withUser"),
    lineId: id.optional().describe("the line whose queue it waits in, when known"),
    botInChat: z
      .union([z.literal(true), z.null()])
      .describe(
        "true: Bitrix24's rules keep the sending bot in the chat (a queue transfer never reads LEAVE); null: it depends on what the function cannot see (the session's status, the line's welcome-bot settings)",
      ),
  })
  .describe("The chat right after the hand-over, as Bitrix24's module code makes it");

export const transferResult = z
  .strictObject({
    transferred: z.literal(true).describe("Bitrix24 confirmed the transfer (result === true)"),
    chatId: id,
    target: transferTarget,
    leave: z
      .boolean()
      .optional()
      .describe(
        "the LEAVE sent (Y/N); absent for anyOperator, whose method takes none. Not a claim that the bot left: see chat.botInChat",
      ),
    chat: chatAfterHandOver,
    portal: z.string().describe("the configured portal that performed it"),
    fallbackUsed: z
      .literal(true)
      .optional()
      .describe("the target was refused and the fallback took the chat"),
    message: messageOutcome.optional(),
    evidence: z
      .string()
      .optional()
      .describe("how the hand-over is known to have happened when the answer that did it was lost"),
  })
  .describe("One transfer Bitrix24 confirmed");

export const transferResponse = transferResult
  .extend({ requestId: z.string().describe("quote it to operators: it is in the function's log line") })
  .describe("200 for a single request: Bitrix24 confirmed the transfer");

const holder = z
  .union([
    z.strictObject({ kind: z.literal("user"), userId: id }),
    z.strictObject({ kind: z.literal("bot"), userId: id }),
    z.strictObject({ kind: z.literal("none") }),
  ])
  .describe(
    "Who holds the chat (its owner, AUTHOR_ID): user: a person was offered it or answers it (the read cannot tell which); bot: a chat bot; none: owner 0, i.e. waiting in a queue, a bot session that names no owner, or a closed dialogue",
  );

export const chatState = z
  .strictObject({
    chatId: id,
    dialogId: z.string().describe('the messenger\'s id for it, "chat<ID>"'),
    holder,
    dialogue: z
      .enum(["open", "closed", "unknown"])
      .describe("from LINES_SESSION's session id: > 0 open, 0 closed (Chat::finish), absent unknown"),
    sessionId: id.optional(),
    lineId: id.optional().describe("the line the session is on (LINES_SESSION LINE_ID, else the chat's own)"),
    crm: z
      .strictObject({ entityType: z.string(), entityId: id })
      .optional()
      .describe("the CRM entity the session is bound to"),
  })
  .describe("A chat as imopenlines.dialog.get shows it");

export const chatReadResponse = chatState
  .extend({ portal: z.string(), requestId: z.string() })
  .describe("200 for GET /transfers/chats/{chatId}");

export const fieldError = z.strictObject({
  path: z.string().describe('the field, dotted ("transfers.1.chatId"), or "(body)"'),
  message: z.string(),
});

export const bitrix24Error = z
  .strictObject({
    error: z.string().describe("Bitrix24's error code, e.g. OPERATOR_WRONG"),
    description: z.string().optional().describe("Bitrix24's error_description, not meant for end users"),
  })
  .describe("What Bitrix24 said, for upstream errors");

const problemShape = {
  type: z
    .string()
    .regex(new RegExp(`^${PROBLEM_TYPE_BASE}[A-Z_]+$`))
    .describe(`${PROBLEM_TYPE_BASE}<code>`),
  title: z.string().describe("the code's fixed title"),
  status: z.int().min(400).max(599),
  detail: z.string().describe("what happened in this case; safe to log and show"),
  code: z.enum(PROBLEM_CODES).describe("the stable, machine-readable code to branch on"),
  requestId: z.string(),
  errors: z.array(fieldError).min(1).optional().describe("every field error, for VALIDATION_FAILED"),
  bitrix24: bitrix24Error.optional(),
  message: messageOutcome.optional(),
  chat: chatState.optional().describe("the read that decided it (CHAT_NOT_WITH_BOT, DIALOG_CLOSED)"),
};

export const problem = z
  .strictObject(problemShape)
  .describe("An RFC 9457 problem (application/problem+json)");

const { requestId: _itemsShareTheBatchRequestId, ...itemProblemShape } = problemShape;
export const batchItemProblem = z
  .strictObject(itemProblemShape)
  .describe("Why one item of a batch failed: a problem without its own requestId");

export const batchItemFailure = z
  .strictObject({
    transferred: z.literal(false),
    chatId: id,
    target: transferTarget,
    problem: batchItemProblem,
  })
  .describe("One item of a batch that was not transferred");

export const batchResponse = z
  .strictObject({
    succeeded: z.int().min(0),
    failed: z.int().min(0),
    results: z
      .array(z.discriminatedUnion("transferred", [transferResult, batchItemFailure]))
      .min(1)
      .max(MAX_BATCH_ITEMS)
      .describe("one entry per requested transfer, in the request's order"),
    requestId: z.string(),
  })
  .describe("The outcome of a batch: 200 when every item was transferred, 207 otherwise");

export const gatewayMessage = z
  .strictObject({ message: z.string() })
  .describe("API Gateway's own answer, given before the function runs; it cannot be reshaped");

/** A problem with one of the given codes, all of one status. */
export function problemWith(codes: readonly ProblemCode[]) {
  const statuses = [...new Set(codes.map((code) => PROBLEMS[code].status))];
  const [status] = statuses;
  if (status === undefined || statuses.length > 1) throw new Error("problemWith needs codes of one status");
  // Loose on purpose: the strict `problem` beside it in allOf already refuses unknown fields.
  return z.intersection(
    problem,
    z.looseObject({ status: z.literal(status), code: z.enum(codes as [ProblemCode, ...ProblemCode[]]) }),
  );
}

/** Response headers the function sets beside content-type and cache-control. */
export const retryAfterHeader = z.int().min(0);
export const replayedHeader = z.literal("true");
export const allowHeader = z.literal("POST");
export const cacheControlHeader = z.literal("no-store");
