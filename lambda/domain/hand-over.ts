/**
 * One chat's hand-over as a bot does it: an optional message into the chat, then the target, then, only
 * if Bitrix24 refused the target without doing anything, the fallback. Pure decisions: the drivers in
 * service/ make the calls (one by one, or in `batch` rounds) and ask `afterFailure` what next.
 */
import { chatAfterHandOver, type Settlement } from "./chat-guard.ts";
import type { ChatState } from "./chat-state.ts";
import { TransferError } from "./problems.ts";
import type { MessageOutcome, TransferResult } from "./transfer-outcome.ts";
import type { TransferRequest, TransferTarget } from "./transfer-request.ts";

export interface HandOverState {
  request: TransferRequest;
  target: TransferTarget;
  fallbackUsed: boolean;
  /** The chat's queue lock was met and the target tried once more. */
  lockRetried: boolean;
  /** An `anyOperator` attempt whose outcome was unknown: a refusal now may be its proof. */
  unknownBefore: boolean;
  /** The guard's read of the chat before anything was sent; absent with `"guard": false`. */
  before?: ChatState;
  /** A lost answer was settled as "did not run" and the target sent once more: never again. */
  resentAfterLostAnswer?: true;
}

export type NextStep =
  | { kind: "done"; result: TransferResult }
  | { kind: "again"; state: HandOverState; waitForLock: boolean }
  | { kind: "failed"; error: TransferError };

export function startHandOver(request: TransferRequest, before?: ChatState): HandOverState {
  const state: HandOverState = {
    request,
    target: request.target,
    fallbackUsed: false,
    lockRetried: false,
    unknownBefore: false,
  };
  if (before) state.before = before;
  return state;
}

export function handedOver(
  state: HandOverState,
  portal: string,
  message?: MessageOutcome,
  evidence?: string,
): TransferResult {
  const result: TransferResult = {
    transferred: true,
    chatId: state.request.chatId,
    target: state.target,
    chat: chatAfterHandOver(state.target, state.before),
    portal,
  };
  // botSessionOperator takes no LEAVE: the answer must not claim one was sent.
  if (!("anyOperator" in state.target)) result.leave = state.request.leave;
  if (state.fallbackUsed) result.fallbackUsed = true;
  if (message) result.message = message;
  if (evidence) result.evidence = evidence;
  return result;
}

/**
 * Refusals after which nothing happened and another target may help. Not WRONG_CHAT: the chat is no
 * longer with the bot (an operator may hold it), and a transfer then would take it from that operator.
 */
const FALLBACK_ON = new Set(["OPERATOR_WRONG", "USER_ID_EMPTY", "QUEUE_ID_EMPTY", "TRANSFER_ID_EMPTY"]);

/**
 * What to do after the target's call failed with `error`; `retryable` says Bitrix24 refused it before
 * running it and it is worth sending again (rate limits, in batches).
 */
export function afterFailure(
  state: HandOverState,
  error: TransferError,
  retryable: boolean,
  portal: string,
): NextStep {
  const bitrix24 = error.details.bitrix24?.error;
  const anyOperator = "anyOperator" in state.target;
  // botSessionOperator refuses a chat that is no longer with a bot (chat.php `endBotSession`): after a
  // lost answer, that refusal is the proof that the first attempt handed it over.
  if (anyOperator && state.unknownBefore && bitrix24 === "WRONG_CHAT") {
    return {
      kind: "done",
      result: handedOver(
        state,
        portal,
        undefined,
        "the first attempt's answer was lost; Bitrix24 then said the chat is no longer with the bot (WRONG_CHAT), so the first attempt handed it over",
      ),
    };
  }
  // ...which also makes sending it again safe: it either runs now or is refused as above.
  if (anyOperator && error.code === "OUTCOME_UNKNOWN" && !state.unknownBefore) {
    return { kind: "again", state: { ...state, unknownBefore: true }, waitForLock: false };
  }
  if (error.code === "OUTCOME_UNKNOWN") return { kind: "failed", error };
  if (retryable) return { kind: "again", state, waitForLock: false };
  if (bitrix24 === "OPERATOR_WRONG" && !state.lockRetried) {
    return { kind: "again", state: { ...state, lockRetried: true }, waitForLock: true };
  }
  const { fallback } = state.request;
  if (fallback && !state.fallbackUsed && bitrix24 !== undefined && FALLBACK_ON.has(bitrix24)) {
    return {
      kind: "again",
      state: { ...state, target: fallback, fallbackUsed: true, lockRetried: false, unknownBefore: false },
      waitForLock: false,
    };
  }
  return { kind: "failed", error };
}

/**
 * Whether a lost answer may be settled by reading the chat: there is a read from before to compare with,
 * the target leaves a mark a read can see (not anyOperator, which has its own proof above), and the
 * request can no longer be running: an answer came back, or the connection broke. After a timeout
 * Bitrix24 may still be running it (it cuts requests off only after 60 s, longer than we may wait).
 */
export function mayReadAfterLoss(state: HandOverState, error: TransferError): boolean {
  return (
    error.code === "OUTCOME_UNKNOWN" &&
    state.before !== undefined &&
    error.details.mayStillRun !== true &&
    !("anyOperator" in state.target)
  );
}

/** What the read after a lost answer decides: success with evidence, one more send, a refusal, or unknown. */
export function afterLostAnswer(
  state: HandOverState,
  error: TransferError,
  settlement: Settlement,
  portal: string,
): NextStep {
  switch (settlement.kind) {
    case "done":
      return { kind: "done", result: handedOver(state, portal, undefined, settlement.evidence) };
    case "notRun":
      // Certainly not run: sent once more, and only once (a second loss stays unknown).
      if (state.resentAfterLostAnswer) return { kind: "failed", error };
      return { kind: "again", state: { ...state, resentAfterLostAnswer: true }, waitForLock: false };
    case "refused":
      return { kind: "failed", error: settlement.error };
    default:
      return { kind: "failed", error };
  }
}

/** What a message's failure means for the answer: the hand-over goes on regardless. */
export function messageFailure(error: TransferError): MessageOutcome {
  return {
    sent: false,
    code: error.code,
    detail:
      error.code === "OUTCOME_UNKNOWN"
        ? "the message's answer was lost: it may have been written; it was not sent again"
        : error.details.detail,
  };
}

/** A result that also tells whether the message went out. */
export function withMessageOutcome<T extends object>(result: T, message: MessageOutcome | undefined): T {
  return message ? { ...result, message } : result;
}

/** A failed hand-over's problem also tells whether the message went out. */
export function withMessage(error: TransferError, message: MessageOutcome | undefined): TransferError {
  if (!message) return error;
  return new TransferError(error.code, { ...error.details, message });
}
