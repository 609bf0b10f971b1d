import { configListMethod } from "./config-list-method.ts";
import type { Params } from "./php-values.ts";
import { phpTruthy } from "./php-values.ts";
import type { PortalState } from "./portal-state.ts";
import { systemErrors } from "./rest-errors.ts";
import { type TransferRecord, transferMethod } from "./transfer-method.ts";

/** What a method may use and change while it runs. */
export interface MethodContext {
  portal: PortalState;
  /** Who calls: a webhook, or an application by its access token; both carry the scopes granted. */
  caller: { scopes: readonly string[] };
  now: () => number;
  recordTransfer(record: TransferRecord): void;
}

/** A method's answer: `result`, plus `total`/`next` for list methods. */
export interface MethodResult {
  result: unknown;
  total?: number;
  next?: number;
}

export interface RestMethod {
  /** Scopes the caller must have (all of them). */
  scopes: readonly string[];
  /** Throws RestError for Bitrix24 errors. */
  run(params: Params, context: MethodContext): MethodResult;
}

/** Scope names of `scope?full=true` (a subset of api-reference/scopes/permissions.md). */
const ALL_SCOPES = [
  "basic",
  "bizproc",
  "calendar",
  "crm",
  "department",
  "disk",
  "entity",
  "im",
  "imbot",
  "imopenlines",
  "lists",
  "log",
  "placement",
  "pull",
  "sonet_group",
  "task",
  "telephony",
  "user",
];

const scopeMethod: RestMethod = {
  scopes: [],
  run: (params, context) => ({
    result: phpTruthy(params.full) ? [...ALL_SCOPES] : [...context.caller.scopes],
  }),
};

/** Methods by lower-case name (Bitrix24 method names are case-insensitive). `batch` is in batch.ts. */
export const METHODS: ReadonlyMap<string, RestMethod> = new Map<string, RestMethod>([
  ["scope", scopeMethod],
  ["imopenlines.config.list.get", { scopes: ["imopenlines"], run: configListMethod }],
  ["imopenlines.bot.session.transfer", { scopes: ["imopenlines", "imbot"], run: transferMethod }],
]);

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
  return method.run(params, context);
}
