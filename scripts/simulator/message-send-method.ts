import type { MethodContext, MethodResult, RestMethod } from "./method-types.ts";
import { intval, type Params, phpString, phpTruthy, upperCaseKeys } from "./php-values.ts";
import { methodError } from "./rest-errors.ts";

/**
 * imopenlines.bot.session.message.send (imopenlines/lib/rest.php botSessionSendAutoMessage): parameter
 * names case-insensitive; CHAT_ID_EMPTY; an empty or missing MESSAGE becomes "" (`!empty(...) ? … : ''`)
 * and NAME is passed on as given to Chat::sendAutoMessage. The method answers true whatever the chat.
 */
function messageSend(rawParams: Params, context: MethodContext): MethodResult {
  const params = upperCaseKeys(rawParams);
  const chatId = intval(params.CHAT_ID);
  if (chatId <= 0) throw methodError("CHAT_ID_EMPTY", "Chat ID can't be empty");
  const message = phpTruthy(params.MESSAGE) ? phpString(params.MESSAGE) : "";
  context.recordMessage({
    chatId,
    ...(params.NAME === undefined || params.NAME === null ? {} : { name: phpString(params.NAME) }),
    message,
    at: context.now(),
  });
  return { result: true };
}

export const messageSendMethod: RestMethod = {
  name: "imopenlines.bot.session.message.send",
  scopes: ["imopenlines"],
  run: messageSend,
};
