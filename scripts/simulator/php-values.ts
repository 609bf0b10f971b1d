/**
 * Bitrix24 is PHP: parameters are read with PHP's loose conversions, and arrays become JSON lists only
 * when their keys are exactly 0..n-1. These helpers reproduce the parts the simulator relies on.
 */

export type Params = Record<string, unknown>;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** PHP `isset()`: present and not null. */
export function isGiven(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** PHP `intval()` for scalars ("12abc" → 12, "x" → 0, 12.9 → 12); arrays and objects give 0. */
export function intval(value: unknown): number {
  if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) : 0;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string") {
    const match = /^\s*([+-]?\d+)/.exec(value);
    return match?.[1] === undefined ? 0 : Number.parseInt(match[1], 10);
  }
  return 0;
}

/** PHP truthiness: false for null, false, 0, "0", "" and empty arrays. */
export function phpTruthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (value === 0 || value === "0" || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isRecord(value)) return Object.keys(value).length > 0;
  return true;
}

/** A Y/N flag: `Y` (any case) or a JSON `true`. */
export function isYes(value: unknown): boolean {
  return value === true || (typeof value === "string" && value.trim().toUpperCase() === "Y");
}

/** PHP string conversion of a scalar, used when a batch command interpolates an earlier result. */
export function phpString(value: unknown): string {
  if (value === true) return "1";
  if (value === false || value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return "Array";
}

/** Top-level keys upper-cased, as Bitrix24 methods do with `array_change_key_case(..., CASE_UPPER)`. */
export function upperCaseKeys(params: Params): Params {
  const out: Params = {};
  for (const [key, value] of Object.entries(params)) setOwn(out, key.toUpperCase(), value);
  return out;
}

/** Sets an own property even for keys like `__proto__`, so request data cannot touch prototypes. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

const CANONICAL_INT = /^(0|-?[1-9]\d*)$/;

/**
 * An ordered PHP array. `toJSON()` gives a JSON list when the keys are 0..n-1 in order (an empty
 * array is `[]`), an object otherwise: exactly how PHP's json_encode renders batch results.
 */
export class PhpArray {
  readonly #entries: Array<[string, unknown]> = [];

  set(key: string, value: unknown): void {
    const existing = this.#entries.find(([k]) => k === key);
    if (existing) existing[1] = value;
    else this.#entries.push([key, value]);
  }

  get size(): number {
    return this.#entries.length;
  }

  toJSON(): unknown[] | Record<string, unknown> {
    const isList = this.#entries.every(([key], index) => CANONICAL_INT.test(key) && Number(key) === index);
    if (isList) return this.#entries.map(([, value]) => value);
    const out: Record<string, unknown> = {};
    for (const [key, value] of this.#entries) setOwn(out, key, value);
    return out;
  }
}

const NUMERIC_STRING = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/**
 * PHP 8's loose `$value == 'Y'` against a string literal, for the values a decoded request can hold:
 * a bool compares as a bool (JSON `true` == "Y", `false` != "Y"); a number equals a numeric string by
 * value and any other string never (PHP 8 compares it as a string: 1 != "Y"); two strings compare
 * byte for byte unless both are numeric; null, arrays and objects never equal a non-empty string.
 */
export function phpLooseEquals(value: unknown, text: string): boolean {
  if (typeof value === "boolean") return value === phpTruthy(text);
  if (typeof value === "number") {
    return NUMERIC_STRING.test(text) ? value === Number(text) : String(value) === text;
  }
  if (typeof value === "string") {
    return NUMERIC_STRING.test(value) && NUMERIC_STRING.test(text)
      ? Number(value) === Number(text)
      : value === text;
  }
  if (value === null || value === undefined) return text === "";
  return false;
}
