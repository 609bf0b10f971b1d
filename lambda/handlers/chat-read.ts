/**
 * Reading a chat (`GET /transfers/chats/{chatId}`, or a direct `{"readChat": …}`): who holds it, its
 * dialogue, session, line and CRM binding, as `imopenlines.dialog.get` shows them. Read-only: no
 * Idempotency-Key, nothing stored.
 */
import { requireChatReadRequest } from "../domain/chat-read-request.ts";
import type { ChatState } from "../domain/chat-state.ts";
import type { TransferError } from "../domain/problems.ts";
import { asTransferError } from "./failures.ts";
import type { InvocationRun } from "./invocation-run.ts";
import { failureFields, type LogFields } from "./log-fields.ts";

export type ChatReadResponse = ChatState & { portal: string; requestId: string };

export type ChatReadOutcome =
  | { ok: true; body: ChatReadResponse; log: LogFields }
  | { ok: false; failure: TransferError; log: LogFields };

export async function readChat(input: unknown, run: InvocationRun): Promise<ChatReadOutcome> {
  let log: LogFields = { operation: "read" };
  try {
    const request = requireChatReadRequest(input);
    log = { ...log, chatId: request.chatId };
    const { service } = run.dependencies();
    const portal = service.portalFor(request);
    log = { ...log, portal };
    const { chat, attempts } = await service.readChat(request.chatId, portal, run.deadline);
    return {
      ok: true,
      body: { ...chat, portal, requestId: run.requestId },
      log: { ...log, outcome: "READ", attempts },
    };
  } catch (error) {
    const failure = asTransferError(error);
    return { ok: false, failure, log: { ...log, ...failureFields(failure) } };
  }
}
