import type { RestMethod } from "./method-types.ts";

/**
 * imbot.bot.list (im/classes/general/im_rest.php botList): every bot of the portal except network bots,
 * whoever registered it, keyed by its id: {"7": {"ID": 7, "NAME": "Demo Bot", "CODE": "demo_bot",
 * "OPENLINE": "Y"}}. PHP's json_encode turns an empty array into []. Refused only for session auth
 * (WRONG_AUTH_TYPE), which the simulator does not have.
 */
export const botListMethod: RestMethod = {
  name: "imbot.bot.list",
  scopes: ["imbot"],
  run: (_params, context) => {
    const bots = context.portal.bots();
    if (bots.length === 0) return { result: [] };
    const result: Record<string, unknown> = {};
    for (const bot of bots) {
      result[String(bot.id)] = {
        ID: bot.id,
        NAME: context.portal.user(bot.id)?.name ?? "",
        CODE: bot.code,
        // Open Lines bots are registered with TYPE "O"; the simulator's bots all serve lines.
        OPENLINE: "Y",
      };
    }
    return { result };
  },
};
