/**
 * The public request contract, shared by the function (to validate callers) and by the CDK app (to
 * validate scheduled inputs at synth), so a typo fails `cdk synth` rather than a 3 a.m. invocation.
 * zod/mini keeps this ~14 KB in the bundle instead of ~450 KB for classic zod.
 */
import * as z from "zod/mini";
import { type FieldError, TransferError } from "./problems.ts";
import { cutText } from "./safe-text.ts";

const MAX_ID = Number.MAX_SAFE_INTEGER;

/** A positive integer id; a string of digits is accepted because many CRMs serialise ids as strings. */
const positiveId = (field: string) => {
  const error = (issue: { input?: unknown }) =>
    issue.input === undefined ? `${field} is required` : `${field} must be a positive integer`;
  return z
    .pipe(
      // A schema's error also words the issues of its checks.
      z.union(
        [
          z.number({ error }).check(z.int(), z.positive()),
          z.string({ error }).check(z.regex(/^[1-9][0-9]{0,15}$/)),
        ],
        { error },
      ),
      z.transform((value) => Number(value)),
    )
    .check(z.refine((n) => n <= MAX_ID, { error: `${field} is too large` }));
};

/** A chat id, also as the messenger's dialog id `"chat112"` (what `imopenlines.dialog.get` answers as `dialog_id`). */
const chatIdSchema = (() => {
  // The same words as every other id: the dialog form is an accepted spelling, documented, not a second rule.
  const message = "chatId must be a positive integer";
  const error = (issue: { input?: unknown }) => (issue.input === undefined ? "chatId is required" : message);
  return z
    .pipe(
      z.union(
        [
          z.number({ error }).check(z.int(), z.positive()),
          z.string({ error }).check(z.regex(/^(?:chat)?[1-9][0-9]{0,15}$/)),
        ],
        { error },
      ),
      z.transform((value) => Number(typeof value === "string" ? value.replace("chat", "") : value)),
    )
    .check(z.refine((n) => n <= MAX_ID, { error: "chatId is too large" }));
})();

export const PORTAL_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const portalName = z.string({ error: "portal must be a string" }).check(
  z.regex(PORTAL_NAME_PATTERN, {
    error: "portal must be 1-63 lowercase letters, digits or hyphens, starting with a letter or digit",
  }),
);

/** The three ways to hand a chat over; exactly one per target. */
const targetShape = {
  operatorId: z.optional(positiveId("operatorId")),
  queueId: z.optional(positiveId("queueId")),
  anyOperator: z.optional(z.literal(true, { error: "anyOperator must be true" })),
};
const TARGET_FIELDS = ["operatorId", "queueId", "anyOperator"] as const;

type TargetFields = {
  operatorId?: number | undefined;
  queueId?: number | undefined;
  anyOperator?: true | undefined;
};

/** Pushes an issue unless exactly one target field is given; `path` prefixes the field names. */
function checkOneTarget(value: TargetFields, path: (string | number)[], issues: z.core.$ZodRawIssue[]): void {
  const given = TARGET_FIELDS.filter((field) => value[field] !== undefined);
  if (given.length === 1) return;
  issues.push({
    code: "custom",
    input: value,
    path: [...path, given[1] ?? "operatorId"],
    message:
      given.length === 0
        ? "exactly one of operatorId, queueId or anyOperator is required"
        : `give one of operatorId, queueId or anyOperator, not ${given.join(" and ")}`,
  });
}

/** Bitrix24 shows the message in the chat; beyond a few paragraphs it is no longer a hand-over note. */
export const MAX_MESSAGE_CHARACTERS = 2000;

/**
 * Characters that show nothing: a message of only these is blank to the customer (zero-width spaces
 * and joiners, the BOM, soft hyphen, word joiner, invisible operators, bidi marks, Hangul fillers).
 */
const INVISIBLE =
  /(?:\u034f|[\s\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufeff\uffa0])/g;

/**
 * Bitrix24 renders BBCode in a bot's chat message ([B], [URL=…], [USER=…] mentions). By default a
 * message is sent as given, so callers may format it; with MESSAGE_BBCODE=escape every `[` is
 * followed by a zero-width space, which keeps the text as it reads but matches no tag.
 */
export function escapeBbcode(text: string): string {
  return text.replaceAll("[", "[\u200b");
}

const message = z.string({ error: "message must be a string" }).check(
  z.refine((text) => text.replace(INVISIBLE, "") !== "", { error: "message must not be blank" }),
  // NUL is no text: it went into the customer's chat verbatim, and cuts strings in C-based tools downstream.
  z.refine((text) => !text.includes("\u0000"), { error: "message must not contain NUL characters" }),
  // Characters as people count them (code points), so an emoji is one, not two UTF-16 units.
  z.refine((text) => [...text].length <= MAX_MESSAGE_CHARACTERS, {
    error: `message must be at most ${MAX_MESSAGE_CHARACTERS} characters`,
  }),
);

const fallbackSchema = z
  .strictObject(targetShape, { error: 'fallback must be an object such as {"queueId": 3}' })
  .check(z.superRefine((value, ctx) => checkOneTarget(value, [], ctx.issues)));

export const transferRequestSchema = z
  .strictObject(
    {
      chatId: chatIdSchema,
      ...targetShape,
      leave: z.optional(z.boolean({ error: "leave must be true or false" })),
      guard: z.optional(z.boolean({ error: "guard must be true or false" })),
      message: z.optional(message),
      fallback: z.optional(fallbackSchema),
      portal: z.optional(portalName),
    },
    { error: "the request must be a JSON object" },
  )
  .check(
    z.superRefine((value, ctx) => {
      checkOneTarget(value, [], ctx.issues);
      if (value.fallback && sameTarget(toTarget(value), toTarget(value.fallback))) {
        ctx.issues.push({
          code: "custom",
          input: value.fallback,
          path: ["fallback"],
          message: "fallback must differ from the target",
        });
      }
    }),
  );

/** Where the chat goes: an employee, an open line's queue, or whichever operator of its own line is free. */
export type TransferTarget = { operatorId: number } | { queueId: number } | { anyOperator: true };

/** A validated request in the shape the domain works with: exactly one target, defaults applied. */
export interface TransferRequest {
  chatId: number;
  target: TransferTarget;
  leave: boolean;
  /**
   * Absent: read the chat first and hand it over only while no person holds it or has been offered it
   * and its dialogue is open (domain/chat-guard.ts). `false`: the caller means to move a chat that may
   * not be the bot's, unread.
   */
  guard?: false;
  /** Written into the chat by the bot just before the hand-over. */
  message?: string;
  /** Tried only when Bitrix24 refused `target` without doing anything. */
  fallback?: TransferTarget;
  portal?: string;
}

function toTarget(fields: TargetFields): TransferTarget {
  if (fields.operatorId !== undefined) return { operatorId: fields.operatorId };
  if (fields.queueId !== undefined) return { queueId: fields.queueId };
  return { anyOperator: true };
}

export function sameTarget(a: TransferTarget, b: TransferTarget): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export type ParseResult = { ok: true; request: TransferRequest } | { ok: false; errors: FieldError[] };

type ParsedRequest = z.output<typeof transferRequestSchema>;

function normalise(parsed: ParsedRequest): TransferRequest {
  const request: TransferRequest = {
    chatId: parsed.chatId,
    target: toTarget(parsed),
    leave: parsed.leave ?? false,
  };
  if (parsed.guard === false) request.guard = false;
  if (parsed.message !== undefined) request.message = parsed.message;
  if (parsed.fallback !== undefined) request.fallback = toTarget(parsed.fallback);
  if (parsed.portal !== undefined) request.portal = parsed.portal;
  return request;
}

function toFieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: [...issue.path, key].join("."), message: `unknown field ${key}` }))
      : [{ path: issue.path.length > 0 ? issue.path.join(".") : "(body)", message: issue.message }],
  );
}

/** The detail names this many errors, each cut short, so its "and N more" always fits (safe-text's cap). */
const DETAIL_ERRORS = 5;
const DETAIL_ERROR_CHARS = 120;

/** The first few errors suffice to fix a request; listing thousands would only amplify a hostile one. */
function validationProblem(errors: FieldError[]): TransferError {
  const named = errors
    .slice(0, DETAIL_ERRORS)
    .map(({ path, message }) => cutText(`${path}: ${message}`, DETAIL_ERROR_CHARS));
  const more = errors.length - named.length;
  return new TransferError("VALIDATION_FAILED", {
    detail: `${named.join("; ")}${more > 0 ? `; and ${more} more` : ""}`,
    errors, // boundedDetails keeps the first MAX_FIELD_ERRORS of them
  });
}

export function parseTransferRequest(input: unknown): ParseResult {
  const parsed = z.safeParse(transferRequestSchema, input);
  return parsed.success
    ? { ok: true, request: normalise(parsed.data) }
    : { ok: false, errors: toFieldErrors(parsed.error.issues) };
}

/** The request, or a VALIDATION_FAILED problem listing every field error. */
export function requireTransferRequest(input: unknown): TransferRequest {
  const parsed = parseTransferRequest(input);
  if (!parsed.ok) throw validationProblem(parsed.errors);
  return parsed.request;
}

export const MAX_BATCH_ITEMS = 50;

/** Many transfers in one Bitrix24 `batch` hit; 50 is Bitrix24's limit of commands per batch. */
export const transferBatchSchema = z
  .strictObject(
    {
      transfers: z
        .array(transferRequestSchema, { error: "transfers must be a list of transfer requests" })
        .check(
          z.minLength(1, { error: "transfers must hold at least one request" }),
          z.maxLength(MAX_BATCH_ITEMS, { error: `transfers must hold at most ${MAX_BATCH_ITEMS} requests` }),
        ),
    },
    // No error of its own: requireTransferInput gives it only objects that have `transfers`.
  )
  .check(
    z.superRefine((value, ctx) => {
      for (const { index, message } of duplicateChats(value.transfers, (item) => item.portal ?? "")) {
        const input = value.transfers[index];
        ctx.issues.push({ code: "custom", input, path: ["transfers", index, "chatId"], message });
      }
      value.transfers.forEach((item, index) => {
        if (item.message === undefined || !BATCH_REFERENCE.test(item.message)) return;
        ctx.issues.push({
          code: "custom",
          input: item.message,
          path: ["transfers", index, "message"],
          message: BATCH_REFERENCE_REFUSED,
        });
      });
    }),
  );

/**
 * Inside `batch`, Bitrix24 replaces `$result[…]`, `$error[…]`, `$total[…]`, `$next[…]` and `$time[…]`
 * (any case, any non-space text between the name and the brackets) in every parameter with earlier
 * commands' answers (rest/classes/general/rest_util.php CRestUtil::processBatchElement, keys of
 * methodsBatch's $arResult): the customer would read something else than was sent. Such a message is
 * refused in a batch; sent alone it is written as it is.
 */
const BATCH_REFERENCE = /\$(result|error|total|next|time)\S*\[[^\]]+\]/i;
const BATCH_REFERENCE_REFUSED =
  "message contains a Bitrix24 batch reference ($result[…], $time[…]…) that batch would replace; send this transfer on its own";

/**
 * Two commands for one chat in one batch would race on the portal: the caller surely meant one. The
 * service checks again once every item's portal is resolved, since an item naming the default portal
 * and one leaving it out address the same chat.
 */
export function duplicateChats<T extends { chatId: number }>(
  items: readonly T[],
  portalOf: (item: T, index: number) => string,
): { index: number; message: string }[] {
  const seen = new Map<string, number>();
  const duplicates: { index: number; message: string }[] = [];
  items.forEach((item, index) => {
    const key = `${portalOf(item, index)}/${item.chatId}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, index);
    else
      duplicates.push({ index, message: `chat ${item.chatId} is already transferred by transfers.${first}` });
  });
  return duplicates;
}

/** A VALIDATION_FAILED problem for the duplicates `duplicateChats` found, if any. */
export function duplicateChatsProblem(duplicates: readonly { index: number; message: string }[]) {
  if (duplicates.length === 0) return undefined;
  return validationProblem(
    duplicates.map(({ index, message }) => ({ path: `transfers.${index}.chatId`, message })),
  );
}

export type TransferInput =
  | { kind: "single"; request: TransferRequest }
  | { kind: "batch"; requests: TransferRequest[] };

/** A single request or a batch; anything else is a VALIDATION_FAILED problem. */
export function requireTransferInput(input: unknown): TransferInput {
  if (typeof input !== "object" || input === null || !("transfers" in input)) {
    return { kind: "single", request: requireTransferRequest(input) };
  }
  const parsed = z.safeParse(transferBatchSchema, input);
  if (!parsed.success) throw validationProblem(toFieldErrors(parsed.error.issues));
  return { kind: "batch", requests: parsed.data.transfers.map(normalise) };
}
