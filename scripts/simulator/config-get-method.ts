import { configRow } from "./config-list-method.ts";
import type { MethodContext, MethodResult, RestMethod } from "./method-types.ts";
import { intval, isGiven, type Params, phpLooseEquals } from "./php-values.ts";
import { methodError } from "./rest-errors.ts";

/**
 * imopenlines.config.get (imopenlines/lib/rest.php configGet): CONFIG_ID (case-sensitive, `(int)`;
 * `<= 0` → 400 CONFIG_ID_EMPTY), WITH_QUEUE (`== 'Y'` when given, default true). The answer is
 * Config::get: the line's row with ACTIVE "Y"/"N" and QUEUE (active operators only, the
 * `=USER.ACTIVE => 'Y'` filter), or `false` for a line that does not exist. No permission is checked.
 */
function configGet(params: Params, context: MethodContext): MethodResult {
  const configId = intval(params.CONFIG_ID);
  if (configId <= 0) throw methodError("CONFIG_ID_EMPTY", "Config ID can't be empty");
  const withQueue = isGiven(params.WITH_QUEUE) ? phpLooseEquals(params.WITH_QUEUE, "Y") : true;
  const line = context.portal.line(configId);
  if (!line) return { result: false };
  const queue = withQueue ? line.queue.filter((id) => context.portal.user(id)?.active === true) : [];
  return { result: configRow(line, queue) };
}

export const configGetMethod: RestMethod = {
  name: "imopenlines.config.get",
  scopes: ["imopenlines"],
  run: configGet,
};
