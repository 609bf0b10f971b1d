import type { MethodContext, MethodResult } from "./method-types.ts";
import { invokeMethod } from "./methods.ts";
import {
  isRecord,
  type Params,
  PhpArray,
  phpString,
  phpTruthy,
  setOwn,
  upperCaseKeys,
} from "./php-values.ts";
import { parseQueryString } from "./request-params.ts";
import { RestError, systemErrors } from "./rest-errors.ts";
import { commandTime } from "./time-envelope.ts";

/** settings/how-to-call-rest-api/batch.md: "The number of requests in a batch is limited to 50." */
export const MAX_BATCH_COMMANDS = 50;

/**
 * `batch` as documented (batch.md, error-codes.md):
 * - `cmd` maps keys to query strings `method?PARAM=value&…` (URL-encoded), `halt` stops at the first
 *   failing command;
 * - commands run one after the other against the same portal, and `$result[key][field]` in a parameter
 *   refers to an earlier command's result;
 * - every command past the 50th gets ERROR_BATCH_LENGTH_EXCEEDED and a nested `batch` gets
 *   ERROR_BATCH_METHOD_NOT_ALLOWED, each as its own entry in `result_error` (the batch itself is 200);
 * - `result`, `result_error`, `result_total`, `result_next`, `result_time` are PHP arrays: `[]` when
 *   empty or keyed 0..n-1, objects otherwise.
 * The caller counts the whole batch as one request against the rate limit.
 * From the module (rest/classes/general/rest_provider.php `methodsBatch`): `halt` and `cmd` are read
 * case-insensitively (`array_change_key_case(…, CASE_UPPER)`); a command that is not a string is
 * skipped (`if (!is_string($call)) continue;`: no entry at all), though it counts towards the 50; the
 * method is the query's path as given, tried lower-cased then as is, with no `.json` stripped, so
 * `method.json?…` inside a batch is a method nobody has (ERROR_METHOD_NOT_FOUND).
 */
export function runBatch(params: Params, context: MethodContext): MethodResult {
  const upper = upperCaseKeys(params);
  const halt = phpTruthy(upper.HALT);
  const commands = commandEntries(upper.CMD);

  const results = new PhpArray();
  const errors = new PhpArray();
  const totals = new PhpArray();
  const nexts = new PhpArray();
  const times = new PhpArray();
  const earlier: Record<string, unknown> = {};

  for (const [index, [key, command]] of commands.entries()) {
    if (index < MAX_BATCH_COMMANDS && typeof command !== "string") continue;
    const started = context.now();
    const outcome =
      index >= MAX_BATCH_COMMANDS
        ? systemErrors.batchLengthExceeded()
        : runCommand(command as string, earlier, context);
    if (outcome instanceof RestError) {
      errors.set(key, outcome.toEnvelope());
      if (halt) break;
      continue;
    }
    results.set(key, outcome.result);
    setOwn(earlier, key, outcome.result);
    if (outcome.total !== undefined) totals.set(key, outcome.total);
    if (outcome.next !== undefined) nexts.set(key, outcome.next);
    times.set(key, commandTime(started, context.now()));
  }

  return {
    result: {
      result: results.toJSON(),
      result_error: errors.toJSON(),
      result_total: totals.toJSON(),
      result_next: nexts.toJSON(),
      result_time: times.toJSON(),
    },
  };
}

/** `cmd` as an object (any keys) or, from a JSON body, a list (keys 0..n-1). */
function commandEntries(cmd: unknown): Array<[string, unknown]> {
  if (Array.isArray(cmd)) return cmd.map((command, index) => [String(index), command]);
  return isRecord(cmd) ? Object.entries(cmd) : [];
}

function runCommand(
  command: string,
  earlier: Record<string, unknown>,
  context: MethodContext,
): MethodResult | RestError {
  const question = command.indexOf("?");
  // No `.json` stripped here, unlike a URL's method (methodsBatch passes the path on as it is).
  const name = (question === -1 ? command : command.slice(0, question)).toLowerCase();
  if (name === "batch") return systemErrors.batchMethodNotAllowed();
  const params = substituteResults(
    parseQueryString(question === -1 ? "" : command.slice(question + 1)),
    earlier,
  );
  try {
    return invokeMethod(name, params, context);
  } catch (error) {
    if (error instanceof RestError) return error;
    throw error;
  }
}

const REFERENCE = /\$result\[([^\]]+)\]((?:\[[^\]]*\])*)/g;

/** Replaces `$result[key][a][b]` in string parameters with the earlier command's value. */
function substituteResults(value: Params, earlier: Record<string, unknown>): Params;
function substituteResults(value: unknown, earlier: Record<string, unknown>): unknown;
function substituteResults(value: unknown, earlier: Record<string, unknown>): unknown {
  if (typeof value === "string") {
    const whole = new RegExp(`^${REFERENCE.source}$`).exec(value);
    if (whole) {
      const resolved = resolveReference(whole[1] ?? "", whole[2] ?? "", earlier);
      return resolved === undefined ? value : resolved;
    }
    return value.replace(REFERENCE, (text, key: string, path: string) => {
      const resolved = resolveReference(key, path, earlier);
      return resolved === undefined ? text : phpString(resolved);
    });
  }
  if (isRecord(value)) {
    const out: Params = {};
    for (const [key, item] of Object.entries(value)) setOwn(out, key, substituteResults(item, earlier));
    return out;
  }
  return value;
}

function resolveReference(key: string, path: string, earlier: Record<string, unknown>): unknown {
  if (!Object.hasOwn(earlier, key)) return undefined;
  let node: unknown = earlier[key];
  for (const match of path.matchAll(/\[([^\]]*)\]/g)) {
    const segment = match[1] ?? "";
    if (Array.isArray(node)) node = node[Number(segment)];
    else if (isRecord(node) && Object.hasOwn(node, segment)) node = node[segment];
    else return undefined;
  }
  return node;
}
