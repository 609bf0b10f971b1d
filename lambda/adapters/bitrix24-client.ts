import { errorPolicy } from "../domain/bitrix24-errors.ts";
import { type ProblemCode, TransferError } from "../domain/problems.ts";
import { noteBitrix24Answer } from "./bitrix24-usage.ts";
import { exchange, type HttpAnswer, HttpTimeoutError, parseJsonObject } from "./http-exchange.ts";

/**
 * Calls one Bitrix24 REST method with retries inside a deadline. Every failure becomes a TransferError
 * whose texts come from us and from Bitrix24's error codes only: the webhook URL (a secret) and raw
 * network errors (which can quote it) never leave this module.
 */

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 4000 };

export interface CallOptions {
  /** Epoch ms by which the whole call, retries included, must be over. */
  deadline: number;
  attemptTimeoutMs: number;
  retry?: RetryPolicy;
  /** Injected for tests: [0, 1). */
  random?: () => number;
}

export interface CallResult {
  result: unknown;
  attempts: number;
}

/** An attempt shorter than this is not worth starting. */
const MIN_ATTEMPT_MS = 200;
/** Bitrix24 answers are small; a huge body is a proxy or attack, not an answer. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

interface AttemptFailure {
  error: TransferError;
  retry: boolean;
}

export async function callMethod(
  restBase: string,
  method: string,
  params: Record<string, unknown>,
  options: CallOptions,
): Promise<CallResult> {
  const retry = options.retry ?? DEFAULT_RETRY;
  const random = options.random ?? Math.random;
  const url = `${restBase}${method}.json`;
  const body = JSON.stringify(params);
  let last: AttemptFailure | undefined;

  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    const remaining = options.deadline - Date.now();
    if (remaining < MIN_ATTEMPT_MS) break;
    const outcome = await attemptOnce(url, body, Math.min(options.attemptTimeoutMs, remaining));
    if ("result" in outcome) return { result: outcome.result, attempts: attempt };
    last = outcome;
    last.error.details.attempts = attempt;
    if (!outcome.retry || attempt === retry.maxAttempts) break;

    if (!(await backOff(attempt, retry, options.deadline, random))) break;
  }

  if (!last) {
    throw new TransferError("UPSTREAM_TIMEOUT", { detail: "no time was left to call Bitrix24", attempts: 0 });
  }
  throw last.error;
}

async function attemptOnce(
  url: string,
  body: string,
  timeoutMs: number,
): Promise<{ result: unknown } | AttemptFailure> {
  let response: HttpAnswer;
  try {
    response = await exchange({
      method: "POST",
      url: new URL(url),
      headers: { "content-type": "application/json", accept: "application/json" },
      body,
      timeoutMs,
      maxBytes: MAX_RESPONSE_BYTES,
    });
  } catch (error) {
    if (error instanceof HttpTimeoutError) {
      return fail("UPSTREAM_TIMEOUT", `Bitrix24 did not answer within ${timeoutMs} ms`, true);
    }
    return fail("UPSTREAM_ERROR", `the connection to Bitrix24 failed (${networkErrorCode(error)})`, true);
  }
  const { text } = response;

  const envelope = parseJsonObject(text);
  noteBitrix24Answer(url, envelope);
  if (envelope && typeof envelope.error === "string") {
    const policy = errorPolicy(response.status, envelope.error);
    const description =
      typeof envelope.error_description === "string" ? envelope.error_description : undefined;
    const error = new TransferError(policy.code, {
      detail: describeUpstreamError(policy.code, envelope.error),
      bitrix24:
        description === undefined ? { error: envelope.error } : { error: envelope.error, description },
      ...(policy.retryAfter === undefined ? {} : { retryAfter: policy.retryAfter }),
    });
    return { error, retry: policy.retry };
  }
  if (response.status !== 200) {
    const policy = errorPolicy(response.status, undefined);
    return {
      error: new TransferError(policy.code, {
        detail: `Bitrix24 answered HTTP ${response.status} without an error code`,
        ...(policy.retryAfter === undefined ? {} : { retryAfter: policy.retryAfter }),
      }),
      retry: policy.retry,
    };
  }
  if (!envelope || !("result" in envelope)) {
    // A 200 we cannot read may hide a performed call, so it is reported, not retried.
    return fail(
      "UPSTREAM_ERROR",
      "Bitrix24 answered HTTP 200 with an unreadable body; the outcome is unknown",
      false,
    );
  }
  return { result: envelope.result };
}

function fail(code: ProblemCode, detail: string, retry: boolean): AttemptFailure {
  return { error: new TransferError(code, { detail }), retry };
}

function describeUpstreamError(code: ProblemCode, error: string): string {
  switch (code) {
    case "TRANSFER_REJECTED":
      return `Bitrix24 rejected the transfer with ${error}`;
    case "PORTAL_MISCONFIGURED":
      return `Bitrix24 refused the portal's credentials or chat bot with ${error}; check the webhook or application, its scopes (imopenlines, imbot) and the bot id`;
    case "RATE_LIMITED":
      return `Bitrix24 is limiting requests for this portal (${error}); try again later`;
    default:
      return `Bitrix24 failed with ${error}`;
  }
}

/** Only the error's code (ECONNRESET, UND_ERR_SOCKET…): messages can quote the URL. */
export function networkErrorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[A-Z0-9_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return "network error";
}

/**
 * Waits before attempt `attempt + 1`, or returns false when that attempt could not start before the
 * deadline. Full jitter spreads the retries of concurrent containers across the portal's leaky bucket.
 */
export async function backOff(
  attempt: number,
  retry: RetryPolicy,
  deadline: number,
  random = Math.random,
): Promise<boolean> {
  const delay = random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  if (Date.now() + delay + MIN_ATTEMPT_MS > deadline) return false;
  await new Promise<void>((resolve) => setTimeout(resolve, delay));
  return true;
}
