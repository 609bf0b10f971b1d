/**
 * Calls one Bitrix24 REST method with retries inside a deadline. Every failure becomes a TransferError
 * whose texts come from us and from Bitrix24's error codes only: the webhook URL (a secret) and raw
 * network errors (which can quote it) never leave this module.
 *
 * At most once: a call that may have run (timeout or reset once connected, any 5xx, an unreadable
 * 200) is never sent again unless the method is `idempotent`; it ends in OUTCOME_UNKNOWN. Only
 * refusals that certainly ran nothing are retried.
 */
import { type ProblemCode, TransferError, UNKNOWN_OUTCOME_ADVICE } from "../domain/problems.ts";
import { endpointSecrets, upstreamError } from "../domain/safe-text.ts";
import { noteBitrix24Answer } from "../observability/bitrix24-usage.ts";
import { backOff, DEFAULT_RETRY, MIN_ATTEMPT_MS, type RetryPolicy, sleepWithin } from "./deadline.ts";
import { exchange, type HttpAnswer, parseJsonObject, transportFailure } from "./http-exchange.ts";
import { followMove, isRedirect } from "./portal-move.ts";
import { type Refusal, refusal } from "./refusal.ts";

export interface CallOptions {
  /** Epoch ms by which the whole call, retries included, must be over. */
  deadline: number;
  attemptTimeoutMs: number;
  retry?: RetryPolicy;
  /** Read-only methods: safe to send again when an attempt's outcome is unknown. */
  idempotent?: boolean;
  /** Plain http to loopback for local runs and tests (also for a moved portal's new address). */
  allowHttpLoopback?: boolean;
  /** Domains besides Bitrix24's cloud and the portal's own domain that a moved portal may go to (on-premise). */
  moveDomains?: readonly string[];
  /** The bot's CLIENT_ID sent with the call (also inside batch commands): a secret, kept out of every text. */
  clientId?: string;
  /** The portal's host as configured: metrics name it, never a host a redirect pointed to. */
  portalHost?: string;
  /** Told the new REST base when the portal answered with its new address and the call went there. */
  onMoved?: (restBase: string) => void;
  /** Injected for tests: [0, 1). */
  random?: () => number;
}

export interface CallResult {
  result: unknown;
  attempts: number;
  /** Bitrix24's `time` block (operating time used and its reset), as sent. */
  time?: unknown;
}

/** Bitrix24 answers are small; a huge body is a proxy or attack, not an answer. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

type AttemptFailure = Refusal;

/** The call's options plus every secret value its texts must never carry (the REST base, its code, a token). */
type AttemptOptions = CallOptions & { secrets: readonly string[] };

type Attempt = { result: unknown; time?: unknown } | AttemptFailure;

export async function callMethod(
  restBase: string,
  method: string,
  params: Record<string, unknown>,
  options: CallOptions,
): Promise<CallResult> {
  const retry = options.retry ?? DEFAULT_RETRY;
  const random = options.random ?? Math.random;
  const target = { url: new URL(`${restBase}${method}.json`) };
  const body = JSON.stringify(params);
  const secrets = endpointSecrets(restBase, params.auth, options.clientId);
  let last: AttemptFailure | undefined;
  let retriedOnce = false;

  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    const remaining = options.deadline - Date.now();
    if (remaining < MIN_ATTEMPT_MS) break;
    const outcome = await attemptWithMove(target, body, Math.min(options.attemptTimeoutMs, remaining), {
      ...options,
      secrets,
    });
    if ("result" in outcome) return { ...outcome, attempts: attempt };
    last = outcome;
    last.error.details.attempts = attempt;
    if (outcome.outcomeUnknown && !options.idempotent) break;
    if (attempt === retry.maxAttempts) break;
    if (outcome.retryOnceAfterMs !== undefined && !retriedOnce) {
      retriedOnce = true;
      if (!(await sleepWithin(outcome.retryOnceAfterMs, options.deadline))) break;
      continue;
    }
    if (!outcome.retry && !outcome.outcomeUnknown) break;
    if (!(await backOff(attempt, retry, options.deadline, random))) break;
  }

  if (!last) {
    throw new TransferError("UPSTREAM_TIMEOUT", { detail: "no time was left to call Bitrix24", attempts: 0 });
  }
  throw last.error;
}

/** One attempt, following at most one portal move; the move is remembered for the call's later attempts. */
async function attemptWithMove(
  target: { url: URL },
  body: string,
  timeoutMs: number,
  options: AttemptOptions,
): Promise<Attempt> {
  const started = Date.now();
  const first = await attemptOnce(target.url, body, timeoutMs, options);
  if (!("location" in first)) return first;
  const moved = followMove(target.url, first.location, {
    allowHttpLoopback: options.allowHttpLoopback ?? false,
    ...(options.moveDomains ? { domains: options.moveDomains } : {}),
  });
  if (moved instanceof TransferError) return notRetried(moved);
  target.url = moved;
  const restBase = target.url.href.slice(0, target.url.href.lastIndexOf("/") + 1);
  options.onMoved?.(restBase);
  const second = await attemptOnce(
    target.url,
    body,
    Math.max(1, timeoutMs - (Date.now() - started)),
    options,
  );
  if ("location" in second) {
    return refused("PORTAL_MISCONFIGURED", "Bitrix24 redirected the call twice; check the portal's address");
  }
  return second;
}

async function attemptOnce(
  url: URL,
  body: string,
  timeoutMs: number,
  options: AttemptOptions,
): Promise<Attempt | { location: string }> {
  let response: HttpAnswer;
  try {
    response = await exchange({
      method: "POST",
      url,
      headers: { "content-type": "application/json", accept: "application/json" },
      body,
      timeoutMs,
      maxBytes: MAX_RESPONSE_BYTES,
    });
  } catch (error) {
    const failure = transportFailure(error, timeoutMs, "Bitrix24");
    if (failure.reached && !options.idempotent) {
      // After a timeout Bitrix24 may still be running the call (it cuts requests off only after 60 s).
      return unknownOutcome(failure.detail, failure.code === "UPSTREAM_TIMEOUT");
    }
    return { ...refused(failure.code, failure.detail), retry: true };
  }
  if (isRedirect(response.status) && response.location !== undefined) return { location: response.location };

  const envelope = parseJsonObject(response.text);
  noteBitrix24Answer(url.href, envelope, options.portalHost);
  if (envelope && typeof envelope.error === "string") {
    const bitrix24 = upstreamError(envelope.error, envelope.error_description, options.secrets);
    return refusal(response.status, bitrix24, options.idempotent === true);
  }
  if (response.status !== 200) return refusal(response.status, undefined, options.idempotent === true);
  if (!envelope || !("result" in envelope)) {
    if (!options.idempotent) return unknownOutcome("Bitrix24 answered HTTP 200 with an unreadable body");
    return {
      ...refused("UPSTREAM_ERROR", "Bitrix24 answered HTTP 200 with an unreadable body"),
      retry: true,
    };
  }
  return "time" in envelope ? { result: envelope.result, time: envelope.time } : { result: envelope.result };
}

function unknownOutcome(what: string, mayStillRun = false): AttemptFailure {
  const detail = `${what}; ${UNKNOWN_OUTCOME_ADVICE}`;
  return {
    error: new TransferError("OUTCOME_UNKNOWN", mayStillRun ? { detail, mayStillRun } : { detail }),
    retry: false,
    outcomeUnknown: true,
  };
}

function refused(code: ProblemCode, detail: string): AttemptFailure {
  return notRetried(new TransferError(code, { detail }));
}

/** An attempt that certainly did not run, not to be tried again unless the caller marks it so. */
function notRetried(error: TransferError): AttemptFailure {
  return { error, retry: false, outcomeUnknown: false };
}
