import type { RestMethod } from "./method-types.ts";
import { phpTruthy } from "./php-values.ts";

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

export const scopeMethod: RestMethod = {
  name: "scope",
  scopes: [],
  run: (params, context) => ({
    result: phpTruthy(params.full) ? [...ALL_SCOPES] : [...context.caller.scopes],
  }),
};
