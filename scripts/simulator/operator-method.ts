import type { MethodContext, MethodResult, RestMethod } from "./method-types.ts";
import { intval, type Params, upperCaseKeys } from "./php-values.ts";
import { methodError } from "./rest-errors.ts";

/**
 * imopenlines.bot.session.operator (imopenlines/lib/rest.php botSessionOperator): parameter names
 * case-insensitive (array_change_key_case); CHAT_ID_EMPTY; then Chat::endBotSession, which hands the chat
 * to its own line's queue. When the chat is no longer with a bot (unknown, already with an operator, or
 * handed over before) it returns false: 400 WRONG_CHAT "Operator is not a bot", so a repeat fails.
 * The module resolves no acting bot here, so no CLIENT_ID is needed.
 */
function operator(rawParams: Params, context: MethodContext): MethodResult {
  const params = upperCaseKeys(rawParams);
  const chatId = intval(params.CHAT_ID);
  if (chatId <= 0) throw methodError("CHAT_ID_EMPTY", "Chat ID can't be empty");

  const chat = context.portal.chat(chatId);
  const botId = chat?.botIds[0];
  if (!chat?.open || chat.operatorId !== null || chat.distributing || botId === undefined) {
    throw methodError("WRONG_CHAT", "Operator is not a bot");
  }
  context.portal.endBotSession(chatId);
  context.recordTransfer({
    method: "imopenlines.bot.session.operator",
    chatId,
    to: { queueId: chat.lineId },
    leave: true,
    botId,
    at: context.now(),
  });
  return { result: true };
}

export const operatorMethod: RestMethod = {
  name: "imopenlines.bot.session.operator",
  scopes: ["imopenlines"],
  run: operator,
};
