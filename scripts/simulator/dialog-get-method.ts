import type { MethodContext, MethodResult, RestMethod } from "./method-types.ts";
import type { ChatRow, OpenLinesChats } from "./open-lines-chats.ts";
import { intval, isGiven, type Params, phpString, upperCaseKeys } from "./php-values.ts";
import type { PortalState } from "./portal-state.ts";
import { methodError } from "./rest-errors.ts";

const ACCESS_ERROR = () => methodError("ACCESS_ERROR", "You do not have access to the specified dialog");

/**
 * imopenlines.dialog.get (imopenlines/lib/rest.php dialogGet): parameter names case-insensitive; the
 * chat from CHAT_ID, else DIALOG_ID ("chat112"), else SESSION_ID, else USER_CODE (rest.php getChatId);
 * none found, no access (Chat::hasAccess) or no chat: 400 ACCESS_ERROR, the module's only refusal here.
 * The answer is Im\Chat::getById(…, LOAD_READED, JSON) → formatChatData with lower-cased keys, plus
 * `readed_list`, `manager_list` and `dialog_id`.
 */
function dialogGet(rawParams: Params, context: MethodContext): MethodResult {
  const params = upperCaseKeys(rawParams);
  const chats = context.portal.chats;
  const chatId = findChatId(params, chats);
  if (!chatId) throw ACCESS_ERROR();
  const row = chats.row(chatId);
  // The user the call runs as: the webhook's user, or the user who installed the application.
  const readerId = context.caller.userId;
  if (!row || !hasAccess(row, readerId, context.portal)) throw ACCESS_ERROR();
  return { result: { ...formatChatData(row, readerId, context.portal), dialog_id: `chat${chatId}` } };
}

export const dialogGetMethod: RestMethod = {
  name: "imopenlines.dialog.get",
  // Registered in the `imopenlines` scope (Rest::onRestServiceBuildDescription).
  scopes: ["imopenlines"],
  run: dialogGet,
};

/** rest.php getChatId: the first of CHAT_ID, DIALOG_ID, SESSION_ID, USER_CODE that is set decides. */
function findChatId(params: Params, chats: OpenLinesChats): number | undefined {
  if (isGiven(params.CHAT_ID)) return intval(params.CHAT_ID);
  if (isGiven(params.DIALOG_ID)) {
    // Im\Common::isChatId: /^(chat|sg|crm)[0-9]{1,}$/i; only "chat<ID>" names an Open Lines chat.
    const dialogId = phpString(params.DIALOG_ID);
    const match = /^chat(\d+)$/i.exec(dialogId);
    return match ? intval(match[1]) : undefined;
  }
  if (isGiven(params.SESSION_ID)) return chats.chatIdBySession(intval(params.SESSION_ID));
  const userCode = params.USER_CODE;
  if (typeof userCode === "string" || typeof userCode === "number") {
    const code = String(userCode);
    return chats.chatIdByUserCode(code.startsWith("imol|") ? code.slice(5) : code);
  }
  return undefined;
}

/**
 * Chat::hasAccess: Config::canJoin on the line of the chat's ENTITY_ID (the line's "join" permission),
 * else Im\V2\Chat::checkAccess, which lets a member of the chat read it. Access through a CRM entity
 * (canJoin with a bound CRM entity) is not simulated.
 */
function hasAccess(row: ChatRow, readerId: number, portal: PortalState): boolean {
  const line = portal.line(row.entityLineId);
  return line?.joinUserIds?.includes(readerId) === true || row.members.includes(readerId);
}

/**
 * Im\Chat::formatChatData as Common::toJson renders it (keys lower-cased, dates ISO 8601). Display-only
 * values (avatar, colour, counters, restrictions) are fixed stand-ins; `owner` (AUTHOR_ID), `entity_id`
 * (the user code `connector|LINE|chat|client`), `entity_data_1` (LINES_SESSION
 * `CRM|TYPE|ID|PAUSE|WAIT_ACTION|SESSION_ID|DATE_CREATE|LINE_ID`), `entity_data_2` (LINES_CRM),
 * `readed_list` (every active member but the reader) and `role` follow the chat's state.
 */
function formatChatData(row: ChatRow, readerId: number, portal: PortalState): Record<string, unknown> {
  const client = portal.user(row.members[0] ?? 0)?.name ?? "Guest";
  const line = portal.line(row.entityLineId)?.name ?? "";
  const isMember = row.members.includes(readerId);
  return {
    id: row.id,
    parent_chat_id: 0,
    parent_message_id: 0,
    name: `${client} - ${line}`,
    description: "",
    owner: row.ownerId,
    extranet: false,
    avatar: "",
    color: "#4ba984",
    type: "lines",
    counter: 0,
    user_counter: row.members.length,
    message_count: 0,
    unread_id: 0,
    last_message_id: 0,
    last_id: 0,
    marked_id: 0,
    disk_folder_id: 0,
    entity_type: "LINES",
    entity_id: row.userCode,
    entity_data_1: row.entityData1,
    entity_data_2: row.entityData2,
    entity_data_3: "N",
    mute_list: [],
    date_create: new Date(row.dateCreate * 1000).toISOString().replace(/\.\d{3}Z$/, "+00:00"),
    message_type: "L",
    public: "",
    // Im\Chat::getRole for the reader's relation: owner, member, or guest without one.
    role: !isMember ? "guest" : row.ownerId === readerId ? "owner" : "member",
    readed_list: row.members
      .filter((id) => id !== readerId && portal.user(id)?.active === true)
      .map((id) => ({ user_id: id, user_name: portal.user(id)?.name ?? "", message_id: 0, date: null })),
    manager_list: [],
  };
}
