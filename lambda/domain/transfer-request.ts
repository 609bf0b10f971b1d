import * as z from "zod/mini";
import { type FieldError, TransferError } from "./problems.ts";
import { MAX_FIELD_ERRORS } from "./upstream-text.ts";

/**
 * The public request contract, shared by the function (to validate callers) and by the CDK app (to
 * validate scheduled inputs at synth), so a typo fails `cdk synth` rather than a 3 a.m. invocation.
 * zod/mini keeps this ~14 KB in the bundle instead of ~450 KB for classic zod.
 */

const MAX_ID = Number.MAX_SAFE_INTEGER;

/** A positive integer id; a string of digits is accepted because many CRMs serialise ids as strings. */
const positiveId = (field: string) => {
  const error = (issue: { input?: unknown }) =>
    issue.input === undefined ? `${field} is required` : `${field} must be a positive integer`;
  return z
    .pipe(
      z.union(
        [
          z.number({ error }).check(z.int({ error }), z.positive({ error })),
          z.string({ error }).check(z.regex(/^[1-9][0-9]{0,15}$/, { error })),
        ],
        { error },
      ),
      z.transform((value) => Number(value)),
    )
    .check(z.refine((n) => n <= MAX_ID, { error: `${field} is too large` }));
};

export const PORTAL_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const portalName = z.string({ error: "portal must be a string" }).check(
  z.regex(PORTAL_NAME_PATTERN, {
    error: "portal must be 1-63 lowercase letters, digits or hyphens, starting with a letter or digit",
  }),
);

export const transferRequestSchema = z
  .strictObject(
    {
      chatId: positiveId("chatId"),
      operatorId: z.optional(positiveId("operatorId")),
      queueId: z.optional(positiveId("queueId")),
      leave: z.optional(z.boolean({ error: "leave must be true or false" })),
      botId: z.optional(positiveId("botId")),
      portal: z.optional(portalName),
    },
    { error: "the request must be a JSON object" },
  )
  .check(
    z.superRefine((value, ctx) => {
      const targets = [value.operatorId, value.queueId].filter((id) => id !== undefined).length;
      if (targets !== 1) {
        ctx.issues.push({
          code: "custom",
          input: value,
          path: targets === 0 ? ["operatorId"] : ["queueId"],
          message:
            targets === 0
              ? "exactly one of operatorId or queueId is required"
              : "give operatorId or queueId, not both",
        });
      }
    }),
  );

export type TransferTarget = { operatorId: number } | { queueId: number };

/** A validated request in the shape the domain works with: exactly one target, defaults applied. */
export interface TransferRequest {
  chatId: number;
  target: TransferTarget;
  leave: boolean;
  botId?: number;
  portal?: string;
}

export type ParseResult = { ok: true; request: TransferRequest } | { ok: false; errors: FieldError[] };

type ParsedRequest = z.output<typeof transferRequestSchema>;

function normalise({ chatId, operatorId, queueId, leave, botId, portal }: ParsedRequest): TransferRequest {
  const request: TransferRequest = {
    chatId,
    target: operatorId !== undefined ? { operatorId } : { queueId: queueId as number },
    leave: leave ?? false,
  };
  if (botId !== undefined) request.botId = botId;
  if (portal !== undefined) request.portal = portal;
  return request;
}

function toFieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: [...issue.path, key].join("."), message: `unknown field ${key}` }))
      : [{ path: issue.path.length > 0 ? issue.path.join(".") : "(body)", message: issue.message }],
  );
}

/** The first few errors suffice to fix a request; listing thousands would only amplify a hostile one. */
function validationProblem(errors: FieldError[]): TransferError {
  const listed = errors.slice(0, MAX_FIELD_ERRORS);
  const more = errors.length - listed.length;
  return new TransferError("VALIDATION_FAILED", {
    detail: `${listed.map((error) => `${error.path}: ${error.message}`).join("; ")}${more > 0 ? `; and ${more} more` : ""}`,
    errors: listed,
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
    { error: "the request must be a JSON object" },
  )
  .check(
    z.superRefine((value, ctx) => {
      for (const { index, message } of duplicateChats(value.transfers, (item) => item.portal ?? "")) {
        const input = value.transfers[index];
        ctx.issues.push({ code: "custom", input, path: ["transfers", index, "chatId"], message });
      }
    }),
  );

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
