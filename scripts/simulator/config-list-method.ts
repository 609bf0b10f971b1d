import type { MethodContext, MethodResult, RestMethod } from "./method-types.ts";
import { intval, isRecord, isYes, type Params } from "./php-values.ts";
import type { OpenLineSeed } from "./portal-state.ts";

const PAGE_SIZE = 50;

/**
 * imopenlines.config.list.get (api-reference/imopenlines/openlines/imopenlines-config-list-get.md):
 * PARAMS {select, order, filter}, OPTIONS {QUEUE: "Y"}. Rows are strings as PHP reads them from the
 * database: {"ID": "3", "ACTIVE": "Y", "LINE_NAME": "Support", "QUEUE_TYPE": "all"}, plus
 * "QUEUE": ["12"] (the operators' user ids) when OPTIONS.QUEUE is "Y". Paged by 50 with `start`;
 * the answer carries `total` and, when more rows follow, `next`.
 */
function configList(params: Params, context: MethodContext): MethodResult {
  const query = isRecord(params.PARAMS) ? params.PARAMS : {};
  const options = isRecord(params.OPTIONS) ? params.OPTIONS : {};
  const withQueue = isYes(options.QUEUE);

  let lines = context.portal.lines().filter((line) => matchesFilter(line, query.filter));
  lines = sortLines(lines, query.order);
  const rows = lines.map((line) => select(toRow(line, withQueue), query.select));

  const start = Math.max(0, intval(params.start));
  const page = rows.slice(start, start + PAGE_SIZE);
  const next = start + PAGE_SIZE < rows.length ? start + PAGE_SIZE : undefined;
  return next === undefined
    ? { result: page, total: rows.length }
    : { result: page, total: rows.length, next };
}

export const configListMethod: RestMethod = {
  name: "imopenlines.config.list.get",
  scopes: ["imopenlines"],
  run: configList,
};

function toRow(line: OpenLineSeed, withQueue: boolean): Record<string, unknown> {
  const row: Record<string, unknown> = {
    ID: String(line.id),
    ACTIVE: line.active ? "Y" : "N",
    LINE_NAME: line.name,
    QUEUE_TYPE: "all",
  };
  if (withQueue) row.QUEUE = line.queue.map(String);
  return row;
}

/**
 * A line as Config::get returns it (imopenlines.config.get): the table row's strings, with the
 * welcome bot and greeting settings, and QUEUE (the active operators' ids) when asked for.
 */
export function configRow(line: OpenLineSeed, queue: readonly number[]): Record<string, unknown> {
  const bot = line.welcomeBot;
  return {
    ...toRow(line, false),
    WELCOME_BOT_ENABLE: bot ? "Y" : "N",
    WELCOME_BOT_ID: String(bot?.id ?? 0),
    WELCOME_BOT_JOIN: bot?.join ?? "first",
    WELCOME_BOT_LEFT: bot?.left ?? "queue",
    WELCOME_MESSAGE: line.greeting === undefined ? "N" : "Y",
    WELCOME_MESSAGE_TEXT: line.greeting ?? "",
    QUEUE: queue.map(String),
  };
}

/** Supports `ID` (one id or a list) and `ACTIVE` (Y/N), the filters worth having here. */
function matchesFilter(line: OpenLineSeed, filter: unknown): boolean {
  if (!isRecord(filter)) return true;
  for (const [rawKey, expected] of Object.entries(filter)) {
    const key = rawKey.replace(/^[=@]/, "").toUpperCase();
    if (key === "ID") {
      const ids = Array.isArray(expected)
        ? expected
        : isRecord(expected)
          ? Object.values(expected)
          : [expected];
      if (!ids.some((id) => intval(id) === line.id)) return false;
    } else if (key === "ACTIVE") {
      if (isYes(expected) !== line.active) return false;
    }
  }
  return true;
}

function sortLines(lines: OpenLineSeed[], order: unknown): OpenLineSeed[] {
  const direction = isRecord(order) && String(order.ID ?? "").toUpperCase() === "DESC" ? -1 : 1;
  return [...lines].sort((a, b) => direction * (a.id - b.id));
}

function select(row: Record<string, unknown>, fields: unknown): Record<string, unknown> {
  const list = Array.isArray(fields) ? fields : isRecord(fields) ? Object.values(fields) : undefined;
  if (!list || list.length === 0 || list.includes("*")) return row;
  const wanted = new Set(list.map((field) => String(field).toUpperCase()));
  return Object.fromEntries(Object.entries(row).filter(([key]) => wanted.has(key)));
}
