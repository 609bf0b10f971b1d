/**
 * A request to read a chat: `GET /transfers/chats/{chatId}?portal=…`, or a direct invocation
 * `{"readChat": {"chatId": 112, "portal": "main"}}`. The chat id may be the dialog id `chat112`.
 */
import * as z from "zod/mini";
import { chatIdOf } from "./chat-state.ts";
import { TransferError } from "./problems.ts";
import { portalName } from "./transfer-request.ts";

export interface ChatReadRequest {
  chatId: number;
  portal?: string;
}

const readSchema = z.strictObject(
  {
    chatId: z.union([z.number(), z.string()], { error: "chatId is required" }),
    portal: z.optional(portalName),
  },
  { error: 'readChat must be an object such as {"chatId": 112}' },
);

export function requireChatReadRequest(input: unknown): ChatReadRequest {
  const parsed = z.safeParse(readSchema, input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? issue.path.join(".") : "readChat";
    const detail =
      issue?.code === "unrecognized_keys"
        ? `unknown field ${issue.keys.join(", ")}`
        : `${path}: ${issue?.message ?? "invalid"}`;
    throw new TransferError("VALIDATION_FAILED", { detail, errors: [{ path, message: detail }] });
  }
  const chatId = chatIdOf(String(parsed.data.chatId));
  if (chatId === undefined) {
    const message = 'chatId must be a positive integer or a dialog id such as "chat112"';
    throw new TransferError("VALIDATION_FAILED", {
      detail: `chatId: ${message}`,
      errors: [{ path: "chatId", message }],
    });
  }
  return parsed.data.portal === undefined ? { chatId } : { chatId, portal: parsed.data.portal };
}
