import type { MethodContext, MethodResult, RestMethod } from "./method-types.ts";
import { intval, type Params, phpLooseEquals, phpString, phpTruthy, upperCaseKeys } from "./php-values.ts";
import { methodError } from "./rest-errors.ts";

/**
 * imopenlines.bot.session.message.send (imopenlines/lib/rest.php botSessionSendAutoMessage): parameter
 * names case-insensitive; CHAT_ID_EMPTY; an empty or missing MESSAGE becomes "" (`!empty(...) ? … : ''`)
 * and NAME goes as given to Chat::sendAutoMessage (open-lines-chats.ts), whose result is ignored: the
 * method answers true whether anything was written or not. Only what was written is recorded.
 */
function messageSend(rawParams: Params, context: MethodContext): MethodResult {
  const params = upperCaseKeys(rawParams);
  const chatId = intval(params.CHAT_ID);
  if (chatId <= 0) throw methodError("CHAT_ID_EMPTY", "Chat ID can't be empty");
  const message = phpTruthy(params.MESSAGE) ? phpString(params.MESSAGE) : "";
  const name = params.NAME;
  // `if (!$type)`: a falsy NAME writes nothing and loads no session.
  if (!phpTruthy(name)) return { result: true };
  // `$type == self::TEXT_WELCOME` / `== self::TEXT_DEFAULT`: loose comparisons.
  const isName = (text: string) => phpLooseEquals(name, text);
  const written = context.portal.chats.sendAutoMessage(chatId, isName, message);
  if (written !== undefined) {
    context.recordMessage({
      chatId,
      name: isName("WELCOME") ? "WELCOME" : "DEFAULT",
      message: written,
      at: context.now(),
    });
  }
  return { result: true };
}

export const messageSendMethod: RestMethod = {
  name: "imopenlines.bot.session.message.send",
  scopes: ["imopenlines"],
  run: messageSend,
};
