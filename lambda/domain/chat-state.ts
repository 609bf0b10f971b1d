/**
 * A chat as `imopenlines.dialog.get` shows it (imopenlines/lib/rest.php `dialogGet` → im/lib/chat.php
 * `formatChatData`, keys lower-cased), turned into what a hand-over needs to know. What the read cannot
 * tell stays unknown: it is never guessed.
 */
import { isRecord } from "./is-record.ts";

/**
 * Who holds the chat, from its `owner` (the chat's AUTHOR_ID):
 * - `user`: a person was offered it (`Chat::waitAnswer`) or answers it (`Chat::answer`); the read cannot
 *   tell which of the two;
 * - `bot`: a chat bot (a welcome bot's session may name it: `session.php` sets AUTHOR_ID to the session's
 *   operator, which `queue/queue.php` makes the bot);
 * - `none`: AUTHOR_ID 0: waiting in a line's queue (`transferToQueue`, `endBotSession`), a bot's session
 *   that does not name it, or a closed dialogue (`Chat::finish`). The read cannot tell these apart.
 */
export type ChatHolder =
  | { kind: "user"; userId: number }
  | { kind: "bot"; userId: number }
  | { kind: "none" };

export interface ChatState {
  chatId: number;
  /** The id the messenger uses for it: `chat<ID>`. */
  dialogId: string;
  holder: ChatHolder;
  /**
   * `open`: LINES_SESSION names a session; `closed`: it names session 0 (`Chat::finish` writes 0);
   * `unknown`: the chat carries no session field at all.
   */
  dialogue: "open" | "closed" | "unknown";
  sessionId?: number;
  /** The line the session is on: LINES_SESSION's LINE_ID (written by `transferToQueue`), else the chat's own. */
  lineId?: number;
  /** The CRM entity the session is bound to, when LINES_SESSION says it is (`CRM` = Y). */
  crm?: { entityType: string; entityId: number };
}

/** What `dialog.get` said before the holder is classified: who the owner is needs the portal's bots. */
export interface DialogRead {
  state: Omit<ChatState, "holder">;
  ownerId: number;
}

/** The dialog id `chat112` or the number 112: the chat id, or undefined. */
export function chatIdOf(value: string): number | undefined {
  const match = /^(?:chat)?([1-9][0-9]{0,15})$/.exec(value);
  const id = match ? Number(match[1]) : Number.NaN;
  return Number.isSafeInteger(id) ? id : undefined;
}

/** The read's answer, or undefined when it is not one (then nothing can be concluded from it). */
export function parseDialog(answer: unknown, chatId: number): DialogRead | undefined {
  if (!isRecord(answer)) return undefined;
  const ownerId = integer(answer.owner);
  if (ownerId === undefined || ownerId < 0) return undefined;
  const state: Omit<ChatState, "holder"> = { chatId, dialogId: `chat${chatId}`, dialogue: "unknown" };
  const session = typeof answer.entity_data_1 === "string" ? answer.entity_data_1.split("|") : [];
  const sessionId = integer(session[5]);
  if (sessionId !== undefined) {
    state.dialogue = sessionId > 0 ? "open" : "closed";
    if (sessionId > 0) state.sessionId = sessionId;
  }
  // Chat::parseLinesChatEntityId: ENTITY_ID is connector|lineId|connectorChatId|connectorUserId.
  const ownLine = typeof answer.entity_id === "string" ? integer(answer.entity_id.split("|")[1]) : undefined;
  const lineId = positive(integer(session[7])) ?? positive(ownLine);
  if (lineId !== undefined) state.lineId = lineId;
  const crmId = integer(session[2]);
  const entityType = session[1] ?? "";
  // CRM entity types are upper-case names (LEAD, DEAL, …); anything else is not shown to callers.
  if (session[0] === "Y" && /^[A-Z][A-Z_]{0,31}$/.test(entityType) && crmId !== undefined && crmId > 0) {
    state.crm = { entityType, entityId: crmId };
  }
  return { state, ownerId };
}

/** The chat with its holder named, `isBot` telling a bot's user id from a person's. */
export function chatState(read: DialogRead, isBot: (userId: number) => boolean): ChatState {
  const { ownerId } = read;
  const holder: ChatHolder =
    ownerId === 0 ? { kind: "none" } : { kind: isBot(ownerId) ? "bot" : "user", userId: ownerId };
  return { ...read.state, holder };
}

/** `formatChatData` casts OWNER with (int); the session field holds digits as text. */
function integer(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== "string" || !/^-?[0-9]{1,16}$/.test(value)) return undefined;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : undefined;
}

function positive(value: number | undefined): number | undefined {
  return value !== undefined && value > 0 ? value : undefined;
}
