import { botListMethod } from "./bot-list-method.ts";
import { configGetMethod } from "./config-get-method.ts";
import { configListMethod } from "./config-list-method.ts";
import { dialogGetMethod } from "./dialog-get-method.ts";
import { messageSendMethod } from "./message-send-method.ts";
import type { MethodContext, MethodResult, RestMethod } from "./method-types.ts";
import { operatorMethod } from "./operator-method.ts";
import type { Params } from "./php-values.ts";
import { systemErrors } from "./rest-errors.ts";
import { scopeMethod } from "./scope-method.ts";
import { transferMethod } from "./transfer-method.ts";

/** The registry: methods by lower-case name. `batch` is in batch.ts. */
export const METHODS: ReadonlyMap<string, RestMethod> = new Map(
  [
    scopeMethod,
    configListMethod,
    configGetMethod,
    dialogGetMethod,
    transferMethod,
    operatorMethod,
    messageSendMethod,
    botListMethod,
  ].map((method) => [method.name, method]),
);

/** `Method.json` → `method`; the `.json` suffix only picks the (default) format. */
export function normalizeMethodName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/\.json$/, "");
}

/** Looks the method up, checks the caller's scopes and runs it. Throws RestError. */
export function invokeMethod(name: string, params: Params, context: MethodContext): MethodResult {
  const method = METHODS.get(name);
  if (!method) throw systemErrors.methodNotFound();
  if (!method.scopes.every((scope) => context.caller.scopes.includes(scope))) {
    throw systemErrors.insufficientScope();
  }
  context.checkOperatingTime(name);
  return method.run(params, context);
}
