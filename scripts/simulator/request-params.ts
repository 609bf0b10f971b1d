import { isRecord, type Params, setOwn } from "./php-values.ts";

/**
 * Request parameters as Bitrix24 reads them: the query string merged with a JSON,
 * application/x-www-form-urlencoded or multipart/form-data body. Keys like `cmd[a]` or
 * `PARAMS[filter][ID]` nest the way PHP's parse_str nests them.
 *
 * Known simplification: JavaScript objects list integer-like keys first, so mixing numeric and named
 * keys (`cmd[b]=…&cmd[0]=…`) does not keep PHP's insertion order.
 */

export type BodyParse = { ok: true; params: Params } | { ok: false; reason: string };

/** PHP parse_str: `a=1&b[]=2&b[]=3&c[d][e]=4`. */
export function parseQueryString(query: string): Params {
  const out: Params = {};
  for (const part of query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = decodeFormComponent(eq === -1 ? part : part.slice(0, eq));
    const value = decodeFormComponent(eq === -1 ? "" : part.slice(eq + 1));
    assignPhpKey(out, key, value);
  }
  return out;
}

export function parseBody(contentType: string | undefined, raw: Buffer): BodyParse {
  if (raw.length === 0) return { ok: true, params: {} };
  const type = (contentType ?? "").toLowerCase();
  const text = raw.toString("utf8");

  if (type.includes("json")) return parseJsonBody(text);
  if (type.startsWith("multipart/form-data")) {
    const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
    const value = boundary?.[1] ?? boundary?.[2];
    if (value === undefined) return { ok: false, reason: "multipart body without a boundary" };
    return { ok: true, params: parseMultipart(text, value) };
  }
  // Form-encoded, and what curl -d sends without a content type.
  return { ok: true, params: parseQueryString(text) };
}

/** Query parameters first, body parameters over them (PHP's $_REQUEST order). */
export function mergeParams(query: Params, body: Params): Params {
  const out: Params = {};
  for (const [key, value] of Object.entries(query)) setOwn(out, key, value);
  for (const [key, value] of Object.entries(body)) setOwn(out, key, value);
  return out;
}

function parseJsonBody(text: string): BodyParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: "Request body is not valid JSON" };
  }
  if (Array.isArray(value)) {
    // PHP decodes a top-level list to an array with keys 0..n-1 (ordered parameters).
    const out: Params = {};
    value.forEach((item, index) => {
      setOwn(out, String(index), item);
    });
    return { ok: true, params: out };
  }
  if (!isRecord(value)) return { ok: false, reason: "Request body must be a JSON object" };
  return { ok: true, params: value };
}

function parseMultipart(text: string, boundary: string): Params {
  const out: Params = {};
  const parts = text.split(`--${boundary}`);
  for (const part of parts.slice(1)) {
    if (part.startsWith("--")) break;
    const headerEnd = part.indexOf("\r\n\r\n");
    if (headerEnd === -1) continue;
    const headers = part.slice(0, headerEnd);
    const name = /name="([^"]*)"/i.exec(headers)?.[1];
    // Uploaded files are not needed by any simulated method.
    if (name === undefined || /filename=/i.test(headers)) continue;
    let value = part.slice(headerEnd + 4);
    if (value.endsWith("\r\n")) value = value.slice(0, -2);
    assignPhpKey(out, name, value);
  }
  return out;
}

function decodeFormComponent(text: string): string {
  const spaced = text.replace(/\+/g, " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** Stores `value` under a PHP-style key: `a`, `a[]`, `a[b][c]`. */
function assignPhpKey(target: Params, key: string, value: string): void {
  const open = key.indexOf("[");
  const base = open > 0 ? key.slice(0, open) : key;
  if (base === "") return;
  const path: string[] = [];
  if (open > 0) {
    const brackets = /\[([^\]]*)\]/y;
    brackets.lastIndex = open;
    for (let match = brackets.exec(key); match; match = brackets.exec(key)) path.push(match[1] ?? "");
    if (path.length === 0) {
      // An unterminated bracket: PHP keeps the key flat.
      setOwn(target, key, value);
      return;
    }
  }

  let node: Record<string, unknown> = target;
  let name = base;
  for (const segment of path) {
    let child = node[name];
    if (!Object.hasOwn(node, name) || !isRecord(child)) {
      child = {};
      setOwn(node, name, child);
    }
    node = child as Record<string, unknown>;
    name = segment === "" ? String(nextIndex(node)) : segment;
  }
  setOwn(node, name, value);
}

/** PHP's `$a[] = …`: one past the largest integer key. */
function nextIndex(node: Record<string, unknown>): number {
  let next = 0;
  for (const key of Object.keys(node)) {
    if (/^(0|[1-9]\d*)$/.test(key)) next = Math.max(next, Number(key) + 1);
  }
  return next;
}
