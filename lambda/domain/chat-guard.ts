/**
 * What a read of the chat decides about a hand-over: whether it may be sent at all (the guard), what a
 * lost answer meant (settling), and what Bitrix24's rules say the chat looks like after it. Pure
 * decisions; the service reads the chat and acts on them.
 */
import type { ChatState } from "./chat-state.ts";
import { TransferError } from "./problems.ts";
import type { TransferTarget } from "./transfer-request.ts";

const OPT_OUT = 'Send "guard": false to hand it over anyway';

/**
 * The guard: a chat may be handed over while no person holds it or has been offered it, and while its
 * dialogue is open. Bitrix24 checks neither (chat.php `transfer` takes the chat from whoever holds it;
 * a closed dialogue is reopened as a new, empty one by `Session::load` without SKIP_CREATE).
 */
export function guardRefusal(chat: ChatState): TransferError | undefined {
  if (chat.holder.kind === "user") {
    return new TransferError("CHAT_NOT_WITH_BOT", {
      detail: `chat ${chat.chatId} is held by user ${chat.holder.userId} (offered to them or answered by them), not by a bot; nothing was sent. ${OPT_OUT}`,
      chat,
    });
  }
  if (chat.dialogue !== "open") {
    const why =
      chat.dialogue === "closed" ? "its dialogue is closed" : "Bitrix24 shows no dialogue session for it";
    return new TransferError("DIALOG_CLOSED", {
      detail: `chat ${chat.chatId}: ${why}, and a hand-over would open a new, empty one for the operator; nothing was sent. ${OPT_OUT}`,
      chat,
    });
  }
  return undefined;
}

export type Settlement =
  | { kind: "done"; evidence: string }
  /** The chat is exactly as before in a way the transfer would have changed: it did not run. */
  | { kind: "notRun" }
  | { kind: "refused"; error: TransferError }
  | { kind: "unknown" };

/**
 * After a transfer's answer was lost and the request can no longer be running: what the chat now shows.
 * `before` is the guard's read, `after` the read made now.
 */
export function settleLostAnswer(before: ChatState, after: ChatState, target: TransferTarget): Settlement {
  const { holder } = after;
  const tellable = readCanTell(before, target);
  if (tellable && "operatorId" in target && holder.kind === "user" && holder.userId === target.operatorId) {
    return {
      kind: "done",
      evidence: `the transfer's answer was lost; a read then showed user ${target.operatorId} holding the chat or offered it (its owner), so the transfer ran`,
    };
  }
  if (tellable && "queueId" in target && after.lineId === target.queueId) {
    return {
      kind: "done",
      evidence: `the transfer's answer was lost; a read then showed line ${target.queueId} written into the chat's session, so the transfer ran`,
    };
  }
  const targetHolds = "operatorId" in target && holder.kind === "user" && holder.userId === target.operatorId;
  if (holder.kind === "user" && !targetHolds) {
    return {
      kind: "refused",
      error: new TransferError("CHAT_NOT_WITH_BOT", {
        detail: `the transfer's answer was lost, and chat ${after.chatId} is now held by user ${holder.userId}; it was not sent again`,
        chat: after,
      }),
    };
  }
  return tellable && unchanged(before, after) ? { kind: "notRun" } : { kind: "unknown" };
}

/**
 * Whether an unchanged chat proves the transfer did not run: a transfer to a user makes that user the
 * owner (chat.php `transferToOperator` → `Chat::answer`), one to another line writes that line into the
 * session (`transferToQueue`). A move within the chat's own line, or `anyOperator`, leaves no such mark.
 */
function readCanTell(before: ChatState, target: TransferTarget): boolean {
  if ("operatorId" in target)
    return !(before.holder.kind === "user" && before.holder.userId === target.operatorId);
  if ("queueId" in target) return before.lineId !== undefined && before.lineId !== target.queueId;
  return false;
}

function unchanged(before: ChatState, after: ChatState): boolean {
  return (
    JSON.stringify(before.holder) === JSON.stringify(after.holder) &&
    before.dialogue === after.dialogue &&
    before.sessionId === after.sessionId &&
    before.lineId === after.lineId
  );
}

/** The chat right after a confirmed hand-over, as the module's rules make it (not a read). */
export interface ChatAfterHandOver {
  /** `withUser`: the user was made its owner; `inQueue`: it waits in a line's queue for distribution. */
  state: "withUser" | "inQueue";
  userId?: number;
  lineId?: number;
  /**
   * Whether the sending bot is still a member: true where the module keeps it, null where it depends on
   * what the function cannot see (the session's status, the line's welcome-bot settings).
   */
  botInChat: true | null;
}

/**
 * - to a user (`transferToOperator`, TRANSFER_MODE_BOT): `Chat::answer` makes the user the owner; the
 *   bot leaves with LEAVE=Y only once the session was answered, and `Chat::answer` removes the line's
 *   welcome bot (WELCOME_BOT_LEFT=queue) even with LEAVE=N: whether it stays is not known here;
 * - to a line (`transferToQueue`): owner 0 and back into distribution; LEAVE is never read, the sending
 *   bot stays;
 * - anyOperator (`endBotSession`): its own line's queue; the session's bot leaves unless the line keeps
 *   it (WELCOME_BOT_LEFT=close).
 */
export function chatAfterHandOver(target: TransferTarget, before: ChatState | undefined): ChatAfterHandOver {
  if ("operatorId" in target) return { state: "withUser", userId: target.operatorId, botInChat: null };
  if ("queueId" in target) return { state: "inQueue", lineId: target.queueId, botInChat: true };
  const after: ChatAfterHandOver = { state: "inQueue", botInChat: null };
  if (before?.lineId !== undefined) after.lineId = before.lineId;
  return after;
}
