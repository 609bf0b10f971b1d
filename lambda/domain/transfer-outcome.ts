/** What a hand-over produced: for one request, and for each item of a batch. */
import type { ChatAfterHandOver } from "./chat-guard.ts";
import type { ProblemDetails, TransferError } from "./problems.ts";
import type { TransferTarget } from "./transfer-request.ts";

/** Whether the message was written; when not, why (OUTCOME_UNKNOWN: it may have been). */
export type MessageOutcome = NonNullable<ProblemDetails["message"]>;

export interface TransferResult {
  transferred: true;
  chatId: number;
  /** The target that took the chat: the fallback when `fallbackUsed`. */
  target: TransferTarget;
  /** The LEAVE sent with the transfer; absent for `anyOperator`, whose method has no such parameter. */
  leave?: boolean;
  /** The chat after the hand-over, as Bitrix24's rules make it. */
  chat: ChatAfterHandOver;
  portal: string;
  fallbackUsed?: true;
  message?: MessageOutcome;
  /** How we know, when the answer that did it was lost. */
  evidence?: string;
}

export interface TransferOutcome {
  result: TransferResult;
  /** The hand-over's Bitrix24 calls (message, transfer), retries included. */
  attempts: number;
  /** The reads of the chat (the guard's, and one settling a lost answer), counted apart from `attempts`. */
  reads?: number;
}

export type ItemOutcome = { ok: true; result: TransferResult } | { ok: false; error: TransferError };

export interface BatchOutcome {
  /** In the order of the request. Items that failed with one whole-call error share that error object. */
  items: ItemOutcome[];
  attempts: number;
  /** The `batch` calls (and bot lists) that read the chats, counted apart from `attempts`. */
  reads?: number;
}
