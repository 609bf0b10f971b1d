import type { MethodContext, MethodResult, RestMethod } from "./method-types.ts";
import { intval, type Params, upperCaseKeys } from "./php-values.ts";
import { methodError } from "./rest-errors.ts";

/**
 * imopenlines.bot.session.operator (imopenlines/lib/rest.php botSessionOperator): parameter names
 * case-insensitive (array_change_key_case); CHAT_ID_EMPTY; then Chat::endBotSession (open-lines-chats.ts),
 * which hands the chat to its own line's queue while the session's operator is a bot and otherwise
 * returns false: 400 WRONG_CHAT "Operator is not a bot" (unknown chat, a person holds it, handed over
 * before). It loads the session without SKIP_CREATE, so a closed dialogue is reopened first, even when
 * the answer is then WRONG_CHAT. The module resolves no acting bot here, so no CLIENT_ID is needed.
 */
function operator(rawParams: Params, context: MethodContext): MethodResult {
  const params = upperCaseKeys(rawParams);
  const chatId = intval(params.CHAT_ID);
  if (chatId <= 0) throw methodError("CHAT_ID_EMPTY", "Chat ID can't be empty");

  const outcome = context.portal.chats.endBotSession(chatId);
  if (!outcome) throw methodError("WRONG_CHAT", "Operator is not a bot");
  const { lineId, botLeft, ...handedOver } = outcome;
  context.recordTransfer({
    method: "imopenlines.bot.session.operator",
    chatId,
    to: { queueId: lineId },
    leave: botLeft,
    ...handedOver,
    at: context.now(),
  });
  return { result: true };
}

export const operatorMethod: RestMethod = {
  name: "imopenlines.bot.session.operator",
  scopes: ["imopenlines"],
  run: operator,
};
