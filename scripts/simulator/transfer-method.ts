import { resolveActingBot } from "./acting-bot.ts";
import type { MethodContext, MethodResult, RestMethod } from "./method-types.ts";
import { intval, isGiven, type Params, phpLooseEquals, phpString } from "./php-values.ts";
import type { TransferTarget } from "./portal-state.ts";
import { methodError } from "./rest-errors.ts";

const OPERATOR_WRONG = () => methodError("OPERATOR_WRONG", "You can not redirect to this operator");

/**
 * imopenlines.bot.session.transfer (imopenlines/lib/rest.php botSessionTransfer). Parameter names are
 * case-sensitive (no array_change_key_case there), except CLIENT_ID (see acting-bot.ts).
 * CHAT_ID; one destination of USER_ID > QUEUE_ID > TRANSFER_ID (a user id or `queue<ID>`, overwriting
 * the others); LEAVE is `$arParams['LEAVE'] == 'Y'`, a loose comparison (JSON true counts, "y" not).
 * Checks, in order: CHAT_ID_EMPTY; USER_ID_EMPTY / QUEUE_ID_EMPTY / TRANSFER_ID_EMPTY; the acting bot
 * (ACCESS_DENIED, BOT_ID_ERROR); then Chat::transfer (open-lines-chats.ts), whose `false` is always
 * OPERATOR_WRONG: unknown chat, the chat's lock held, a user who is unknown, inactive, a bot, extranet or
 * a connector, or an unknown line. Not refused: a chat a person holds or the bot already left, a
 * closed dialogue (a new one is opened and transferred), an inactive line. WRONG_CHAT is never thrown.
 */
function transfer(params: Params, context: MethodContext): MethodResult {
  const chatId = intval(params.CHAT_ID);
  if (chatId <= 0) throw methodError("CHAT_ID_EMPTY", "Chat ID can't be empty");

  const target = readTarget(params);
  const bot = resolveActingBot(params, context);

  // Chat::transfer takes the chat's Tools\Lock (Queue::PREFIX_KEY_LOCK) first, once the chat loaded;
  // a held lock makes it return false before the session is even loaded.
  if (context.portal.chats.has(chatId) && context.portal.takeLock(chatId)) throw OPERATOR_WRONG();
  const leave = isGiven(params.LEAVE) && phpLooseEquals(params.LEAVE, "Y");
  const outcome = context.portal.chats.transfer(chatId, bot.id, target, leave);
  if (!outcome) throw OPERATOR_WRONG();
  context.recordTransfer({
    method: "imopenlines.bot.session.transfer",
    chatId,
    to: target,
    leave,
    botId: bot.id,
    ...outcome,
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
