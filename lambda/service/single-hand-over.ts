/** A single request's hand-over: the message, then the target (and its fallback), each a call of its own. */
import {
  handOverCall,
  type MethodCall,
  messageCall,
  type PortalAccess,
  requireConfirmed,
} from "../bitrix24/methods.ts";
import { guardRefusal, settleLostAnswer } from "../domain/chat-guard.ts";
import {
  afterFailure,
  afterLostAnswer,
  type HandOverState,
  handedOver,
  mayReadAfterLoss,
  messageFailure,
  type NextStep,
  startHandOver,
  withMessage,
  withMessageOutcome,
} from "../domain/hand-over.ts";
import { TransferError } from "../domain/problems.ts";
import type { MessageOutcome, TransferOutcome } from "../domain/transfer-outcome.ts";
import type { TransferRequest } from "../domain/transfer-request.ts";
import type { ChatReader } from "./chat-reader.ts";
import type { PortalCaller } from "./portal-caller.ts";

export async function handOverOne(
  caller: PortalCaller,
  reader: ChatReader,
  portal: string,
  request: TransferRequest,
  deadline: number,
): Promise<TransferOutcome> {
  const attempts = { count: 0 };
  // The reads' calls, counted apart: `attempts` stays the hand-over's own calls (its retries are a metric).
  const reads = { count: 0 };
  const confirmed = (make: (access: PortalAccess) => MethodCall, what: string) =>
    confirmedCall(caller, portal, make, what, deadline, attempts);
  const before = await guard(reader, portal, request, deadline, reads);
  const message = request.message === undefined ? undefined : await writeMessage(confirmed, request);
  // The client already retried rate limits and the queue lock; the steps left are fallback and proof.
  let state: HandOverState = { ...startHandOver(request, before), lockRetried: true };
  for (;;) {
    const current = state;
    try {
      await confirmed(
        (access) => handOverCall(request.chatId, current.target, request.leave, access),
        "transfer",
      );
      return { result: handedOver(current, portal, message), attempts: attempts.count, reads: reads.count };
    } catch (error) {
      if (!(error instanceof TransferError)) throw error;
      const next = await nextStep(reader, portal, current, error, deadline, reads);
      if (next.kind === "done") {
        const result = withMessageOutcome(next.result, message);
        return { result, attempts: attempts.count, reads: reads.count };
      }
      if (next.kind === "failed") throw withMessage(next.error, message);
      state = { ...next.state, lockRetried: true };
    }
  }
}

/** The guard's read (absent with `"guard": false`); a chat a person holds, or with no open dialogue, ends here. */
async function guard(
  reader: ChatReader,
  portal: string,
  request: TransferRequest,
  deadline: number,
  attempts: { count: number },
) {
  if (request.guard === false) return undefined;
  const chat = await reader.read(portal, request.chatId, deadline, attempts);
  const refusal = guardRefusal(chat);
  if (refusal) throw refusal;
  return chat;
}

/** After a failed transfer: the hand-over's rules, and for a lost answer that can be settled, a read of the chat. */
async function nextStep(
  reader: ChatReader,
  portal: string,
  state: HandOverState,
  error: TransferError,
  deadline: number,
  attempts: { count: number },
): Promise<NextStep> {
  const next = afterFailure(state, error, false, portal);
  if (next.kind !== "failed" || !mayReadAfterLoss(state, error) || !state.before) return next;
  let after: Awaited<ReturnType<ChatReader["read"]>>;
  try {
    after = await reader.read(portal, state.request.chatId, deadline, attempts);
  } catch {
    // A read that fails settles nothing: the outcome stays unknown.
    return next;
  }
  return afterLostAnswer(state, error, settleLostAnswer(state.before, after, state.target), portal);
}

/** The message is the courtesy, the hand-over the job: its failure is reported, not thrown. */
async function writeMessage(
  confirmed: (make: (access: PortalAccess) => MethodCall, what: string) => Promise<void>,
  request: TransferRequest,
): Promise<MessageOutcome> {
  const text = request.message as string;
  try {
    await confirmed(() => messageCall(request.chatId, text), "message");
    return { sent: true };
  } catch (error) {
    // A portal that refuses our credentials will refuse the transfer too: that ends the request.
    if (!(error instanceof TransferError) || error.code === "PORTAL_MISCONFIGURED") throw error;
    return messageFailure(error);
  }
}

/** One call whose result must be `true`; its attempts count into `attempts` whether it succeeds or not. */
async function confirmedCall(
  caller: PortalCaller,
  portal: string,
  make: (access: PortalAccess) => MethodCall,
  what: string,
  deadline: number,
  attempts: { count: number },
): Promise<void> {
  try {
    const outcome = await caller.call(portal, make, deadline);
    attempts.count += outcome.attempts;
    requireConfirmed(outcome.result, what);
  } catch (error) {
    if (error instanceof TransferError) attempts.count += error.details.attempts ?? 0;
    throw error;
  }
}
