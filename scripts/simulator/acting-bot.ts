import type { MethodContext } from "./method-types.ts";
import { isGiven, type Params } from "./php-values.ts";
import type { BotSeed } from "./portal-state.ts";
import { methodError, RestError } from "./rest-errors.ts";

/**
 * The bot a caller acts through (imopenlines/lib/rest.php botSessionTransfer → resolveClientId, then
 * im/lib/bot.php Im\Bot::getBotIdByAppId). There is no BOT_ID parameter.
 * - An OAuth application acts through the FIRST bot it registered (APP_ID = its client id); CLIENT_ID
 *   is ignored.
 * - A webhook must send CLIENT_ID (else 403 ACCESS_DENIED, an AccessException) and acts through the
 *   first bot whose APP_ID is "custom" + CLIENT_ID.
 * No such bot: 400 BOT_ID_ERROR "Bot not found".
 */
export function resolveActingBot(params: Params, context: MethodContext): BotSeed {
  let appId: string;
  if (context.caller.kind === "app") {
    appId = context.caller.clientId;
  } else {
    const clientId = readClientId(params);
    if (clientId === undefined) {
      throw new RestError(403, "ACCESS_DENIED", "Access denied! Client ID not specified.");
    }
    appId = `custom${clientId}`;
  }
  const bot = context.portal.bots().find((candidate) => candidate.appId === appId);
  if (!bot) throw methodError("BOT_ID_ERROR", "Bot not found");
  return bot;
}

/** CLIENT_ID is the one parameter read whatever its case (contract.md: the CLIENT_ID exception). */
function readClientId(params: Params): string | undefined {
  for (const [key, value] of Object.entries(params)) {
    if (key.toUpperCase() === "CLIENT_ID" && isGiven(value) && String(value) !== "") return String(value);
  }
  return undefined;
}
