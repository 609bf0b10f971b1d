import { resolveActingBot } from "./acting-bot.ts";
import type { MethodContext, MethodResult, RestMethod } from "./method-types.ts";
import { intval, isGiven, type Params, phpString } from "./php-values.ts";
import type { PortalState, TransferTarget } from "./portal-state.ts";
import { methodError } from "./rest-errors.ts";

const OPERATOR_WRONG = () => methodError("OPERATOR_WRONG", "You can not redirect to this operator");

/**
 * imopenlines.bot.session.transfer (imopenlines/lib/rest.php botSessionTransfer). Parameter names are
 * case-sensitive (no array_change_key_case there), except CLIENT_ID (see acting-bot.ts).
 * CHAT_ID; one destination of USER_ID > QUEUE_ID > TRANSFER_ID (a user id or `queue<ID>`, overwriting
 * the others); LEAVE exactly "Y" makes the bot leave, anything else is "N".
 * Checks, in order: CHAT_ID_EMPTY; USER_ID_EMPTY / QUEUE_ID_EMPTY / TRANSFER_ID_EMPTY; the acting bot
 * (ACCESS_DENIED, BOT_ID_ERROR); then Chat::transfer, whose `false` is always OPERATOR_WRONG: unknown
 * chat, no open dialogue, a user who is unknown, inactive, a bot, extranet or a connector, an unknown or
 * inactive line, or the chat's lock held. WRONG_CHAT is never thrown here, and whether the bot is in the
 * chat is not checked.
 */
function transfer(params: Params, context: MethodContext): MethodResult {
  const chatId = intval(params.CHAT_ID);
  if (chatId <= 0) throw methodError("CHAT_ID_EMPTY", "Chat ID can't be empty");

  const target = readTarget(params);
  const bot = resolveActingBot(params, context);

  // Chat::transfer takes the chat's Tools\Lock first; a held lock makes it return false.
  if (context.portal.takeLock(chatId)) throw OPERATOR_WRONG();
  const chat = context.portal.chat(chatId);
  if (!chat?.open || !acceptsTarget(target, context.portal)) throw OPERATOR_WRONG();

  const leave = params.LEAVE === "Y";
  context.portal.applyTransfer(chatId, bot.id, target, leave);
  context.recordTransfer({
    method: "imopenlines.bot.session.transfer",
    chatId,
    to: target,
    leave,
    botId: bot.id,
    at: context.now(),
  });
  return { result: true };
}

export const transferMethod: RestMethod = {
  name: "imopenlines.bot.session.transfer",
  // Registered only in the `imopenlines` scope (Rest::onRestServiceBuildDescription).
  scopes: ["imopenlines"],
  run: transfer,
};

/** TRANSFER_ID overwrites QUEUE_ID (`queue<ID>`) or USER_ID (anything else); then USER_ID > QUEUE_ID. */
function readTarget(raw: Params): TransferTarget {
  const params: Params = { ...raw };
  if (isGiven(params.TRANSFER_ID)) {
    const transferId = phpString(params.TRANSFER_ID);
    if (transferId.startsWith("queue")) params.QUEUE_ID = transferId.slice(5);
    else params.USER_ID = transferId;
  }
  if (isGiven(params.USER_ID)) return readUser(params.USER_ID);
  if (isGiven(params.QUEUE_ID)) return readQueue(params.QUEUE_ID);
  throw methodError("TRANSFER_ID_EMPTY", "Queue ID or User ID can't be empty");
}

function readUser(value: unknown): TransferTarget {
  const userId = intval(value);
  if (userId <= 0) throw methodError("USER_ID_EMPTY", "User ID can't be empty");
  return { userId };
}

function readQueue(value: unknown): TransferTarget {
  const queueId = intval(value);
  if (queueId <= 0) throw methodError("QUEUE_ID_EMPTY", "QUEUE ID can't be empty");
  return { queueId };
}

function acceptsTarget(target: TransferTarget, portal: PortalState): boolean {
  if ("queueId" in target) return portal.line(target.queueId)?.active === true;
  const user = portal.user(target.userId);
  return user?.kind === "employee" && user.active && !portal.bot(target.userId);
}
