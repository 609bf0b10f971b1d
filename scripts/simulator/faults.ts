import { STATUS_CODES } from "node:http";
import type { TimeEnvelope } from "./time-envelope.ts";

/** Failures a real portal, or a proxy in front of it, can produce. */
export type Fault =
  /** Wait, then answer normally. */
  | { kind: "latency"; ms: number }
  /** Any Bitrix24 error envelope, e.g. 503 QUERY_LIMIT_EXCEEDED, 429 OPERATION_TIME_LIMIT, 500 ERROR_UNEXPECTED_ANSWER. */
  | { kind: "error"; status: number; error: string; description?: string }
  /** Destroy the connection without answering. */
  | { kind: "reset" }
  /** Never answer (the connection is only closed by close()). */
  | { kind: "hang" }
  /** HTTP 200 with truncated JSON. */
  | { kind: "malformed" }
  /** An HTML error page such as a proxy's 502 (status defaults to 502). */
  | { kind: "html"; status?: number }
  /** HTTP 200 with an empty body. */
  | { kind: "empty" }
  /** HTTP 200 `{"result": false, "time": …}`. */
  | { kind: "result-false" };

export type FaultKind = Fault["kind"];

export interface FaultOptions {
  /** How many matching requests get the fault (default 1; `Infinity` for all). */
  times?: number;
  /** Only requests for this method (case-insensitive, `.json` ignored); default any method. */
  method?: string;
  /**
   * The request is executed first (the ledger records it, chats change), then its answer is replaced
   * by the fault: a timeout, reset, 5xx or unreadable 200 after the portal did the work. Default false:
   * refused before execution. Meaningless for `latency`, which always answers normally.
   */
  executes?: boolean;
}

/** A fault as taken for one request. */
export interface TakenFault {
  fault: Fault;
  executes: boolean;
}

/** An HTTP answer a fault produces (for the kinds that answer). */
export interface FaultAnswer {
  status: number;
  contentType: string;
  body: string;
  /** The Bitrix24 error code the answer carries, for the hit log. */
  error?: string;
}

interface ArmedFault {
  fault: Fault;
  remaining: number;
  method: string | undefined;
  executes: boolean;
}

/** Injected faults, consumed first-in first-out by the requests they match. */
export class FaultPlan {
  #armed: ArmedFault[] = [];

  add(fault: Fault, options: FaultOptions = {}): void {
    validateFault(fault);
    const times = options.times ?? 1;
    if (!(times === Number.POSITIVE_INFINITY || (Number.isInteger(times) && times > 0))) {
      throw new RangeError("fault times must be a positive integer or Infinity");
    }
    const method = options.method
      ?.trim()
      .toLowerCase()
      .replace(/\.json$/, "");
    this.#armed.push({ fault: { ...fault }, remaining: times, method, executes: options.executes === true });
  }

  /** The fault for a request to `method`, counting it as used; undefined when none applies. */
  take(method: string): TakenFault | undefined {
    const index = this.#armed.findIndex((armed) => armed.method === undefined || armed.method === method);
    const armed = this.#armed[index];
    if (!armed) return undefined;
    armed.remaining -= 1;
    if (armed.remaining <= 0) this.#armed.splice(index, 1);
    return { fault: armed.fault, executes: armed.executes };
  }

  clear(): void {
    this.#armed = [];
  }
}

/** The answer of a fault that answers: everything but latency (answers normally), reset and hang. */
export function faultAnswer(
  fault: Exclude<Fault, { kind: "latency" | "reset" | "hang" }>,
  time: TimeEnvelope,
): FaultAnswer {
  switch (fault.kind) {
    case "error":
      return {
        status: fault.status,
        contentType: JSON_TYPE,
        body: JSON.stringify({ error: fault.error, error_description: fault.description ?? "" }),
        error: fault.error,
      };
    case "malformed": {
      const full = JSON.stringify({ result: true, time });
      return { status: 200, contentType: JSON_TYPE, body: full.slice(0, Math.floor(full.length / 2)) };
    }
    case "html": {
      const status = fault.status ?? 502;
      return { status, contentType: "text/html", body: htmlErrorPage(status) };
    }
    case "empty":
      return { status: 200, contentType: JSON_TYPE, body: "" };
    case "result-false":
      return { status: 200, contentType: JSON_TYPE, body: JSON.stringify({ result: false, time }) };
  }
}

export const JSON_TYPE = "application/json; charset=utf-8";

/** An nginx-style error page. */
export function htmlErrorPage(status: number): string {
  const title = `${status} ${STATUS_CODES[status] ?? "Error"}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

function validateFault(fault: Fault): void {
  switch (fault.kind) {
    case "latency":
      if (!(fault.ms >= 0 && Number.isFinite(fault.ms))) throw new RangeError("latency ms must be >= 0");
      return;
    case "error":
    case "html": {
      const status = fault.kind === "error" ? fault.status : (fault.status ?? 502);
      if (!(Number.isInteger(status) && status >= 200 && status <= 599)) {
        throw new RangeError("fault status must be an HTTP status 200..599");
      }
      if (fault.kind === "error" && typeof fault.error !== "string")
        throw new TypeError("error must be a string");
      return;
    }
    case "reset":
    case "hang":
    case "malformed":
    case "empty":
    case "result-false":
      return;
    default:
      throw new TypeError(`unknown fault kind ${JSON.stringify((fault as { kind?: unknown }).kind)}`);
  }
}
