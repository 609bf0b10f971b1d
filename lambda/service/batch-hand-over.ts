/**
 * Many hand-overs in Bitrix24 `batch` calls: each chat's message and hand-over travel together, message
 * first, in calls of at most 50 commands. Rounds follow for what certainly did not run (rate limits,
 * the queue lock once) and for fallbacks; nothing that may have run is sent again.
 */
import {
  type BatchCommand,
  batchCommands,
  type CommandOutcome,
  packBatches,
  readBatchAnswer,
  requireBatchAnswer,
} from "../bitrix24/batch.ts";
import { backOff, DEFAULT_RETRY, sleepWithin } from "../bitrix24/deadline.ts";
import { LOCK_RETRY_MS } from "../bitrix24/error-policy.ts";
import { handOverCall, messageCall, type PortalAccess } from "../bitrix24/methods.ts";
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
import { interruptedOutcome, TransferError } from "../domain/problems.ts";
import type { ItemOutcome, MessageOutcome } from "../domain/transfer-outcome.ts";
import type { TransferRequest } from "../domain/transfer-request.ts";
import { logUnexpectedFailure } from "../observability/logger.ts";
import type { ChatReader } from "./chat-reader.ts";
import type { PortalCaller } from "./portal-caller.ts";

/** Rounds of a batch: the first run, then lock retries, fallbacks and rate-limited commands. */
const BATCH_ROUNDS = 4;

/** A batch item in flight: its hand-over and, until it is decided, its message. */
export interface BatchItem {
  index: number;
  state: HandOverState;
  messagePending: boolean;
  message?: MessageOutcome;
}

/** What one round decided for one item; `error` is the refusal behind a step that goes again. */
interface Decision {
  item: BatchItem;
  step: NextStep | { kind: "ok" };
  error?: TransferError;
}

export function batchItem(index: number, request: TransferRequest): BatchItem {
  return { index, state: startHandOver(request), messagePending: request.message !== undefined };
}

/**
 * One portal's items, round after round; fills `outcomes` at the items' indexes, returns the calls made.
 * The guard's reads go first, in `batch` calls of their own; lost answers are settled by reading again.
 */
export async function handOverBatch(
  caller: PortalCaller,
  reader: ChatReader,
  portal: string,
  items: BatchItem[],
  outcomes: ItemOutcome[],
  deadline: number,
): Promise<{ attempts: number; reads: number }> {
  const attempts = { count: 0 };
  const reads = { count: 0 };
  const inFlight = new Set<BatchItem>();
  try {
    const pending = await guardItems(reader, portal, items, outcomes, deadline, reads);
    await runRounds(caller, reader, portal, pending, outcomes, deadline, { attempts, reads, inFlight });
  } catch (error) {
    // A throw would lose what the rounds so far decided (and, from an event, make Lambda send it all
    // again): decided items keep their outcome, the rest may have run.
    logUnexpected(error);
    for (const item of items) {
      if (inFlight.has(item) || outcomes[item.index] === undefined) {
        const message = item.messagePending ? messageFailure(interruptedOutcome()) : item.message;
        outcomes[item.index] = { ok: false, error: withMessage(interruptedOutcome(), message) };
      }
    }
  }
  return { attempts: attempts.count, reads: reads.count };
}

/** The rounds after the guard; `inFlight` holds the items whose calls were sent and are not decided yet. */
async function runRounds(
  caller: PortalCaller,
  reader: ChatReader,
  portal: string,
  first: BatchItem[],
  outcomes: ItemOutcome[],
  deadline: number,
  counts: { attempts: { count: number }; reads: { count: number }; inFlight: Set<BatchItem> },
): Promise<void> {
  let pending = first;
  for (let round = 1; pending.length > 0; round++) {
    for (const item of pending) counts.inFlight.add(item);
    const ran = await runRound(caller, portal, pending, deadline, counts.attempts);
    const decisions = await settleLost(reader, portal, ran, deadline, counts.reads);
    counts.inFlight.clear();
    const again = decisions.filter((decision) => record(decision, portal, outcomes));
    if (again.length === 0 || round === BATCH_ROUNDS) break;
    const waitForLock = again.some(({ step }) => step.kind === "again" && step.waitForLock);
    const waited = waitForLock
      ? await sleepWithin(LOCK_RETRY_MS, deadline)
      : await backOff(round, DEFAULT_RETRY, deadline);
    if (!waited) break;
    pending = again.map(({ item }) => item);
  }
}

/** Reads the guarded items' chats; the items a person holds, or whose dialogue is closed, end as refused. */
async function guardItems(
  reader: ChatReader,
  portal: string,
  items: BatchItem[],
  outcomes: ItemOutcome[],
  deadline: number,
  attempts: { count: number },
): Promise<BatchItem[]> {
  const guarded = items.filter((item) => item.state.request.guard !== false);
  if (guarded.length === 0) return items;
  const reads = await reader.readMany(
    portal,
    guarded.map((item) => item.state.request.chatId),
    deadline,
    attempts,
  );
  return items.filter((item) => {
    const read = reads.get(item.state.request.chatId);
    if (!read) return true;
    const refusal = read.ok ? guardRefusal(read.chat) : read.error;
    if (refusal) outcomes[item.index] = { ok: false, error: refusal };
    else if (read.ok) item.state = { ...item.state, before: read.chat };
    return refusal === undefined;
  });
}

/** Items whose transfer's answer was lost, where a read can settle it: read together, and decided again. */
async function settleLost(
  reader: ChatReader,
  portal: string,
  decisions: Decision[],
  deadline: number,
  attempts: { count: number },
): Promise<Decision[]> {
  const lost = decisions.filter(
    ({ item, step }) => step.kind === "failed" && mayReadAfterLoss(item.state, step.error),
  );
  if (lost.length === 0) return decisions;
  const reads = await reader.readMany(
    portal,
    lost.map(({ item }) => item.state.request.chatId),
    deadline,
    attempts,
  );
  return decisions.map((decision) => {
    const { item, step } = decision;
    const read = reads.get(item.state.request.chatId);
    if (step.kind !== "failed" || !lost.includes(decision) || !read?.ok || !item.state.before)
      return decision;
    const settlement = settleLostAnswer(item.state.before, read.chat, item.state.target);
    return { item, step: afterLostAnswer(item.state, step.error, settlement, portal), error: step.error };
  });
}

const logUnexpected = (error: unknown) =>
  logUnexpectedFailure(error, "unexpected failure in a batch: its undecided items are reported as unknown");

/** Writes the item's outcome; true when it goes again (its refusal stands if no round is left). */
function record({ item, step, error }: Decision, portal: string, outcomes: ItemOutcome[]): boolean {
  const { message } = item;
  switch (step.kind) {
    case "ok":
      outcomes[item.index] = { ok: true, result: handedOver(item.state, portal, message) };
      return false;
    case "done":
      outcomes[item.index] = { ok: true, result: withMessageOutcome(step.result, message) };
      return false;
    case "failed":
      outcomes[item.index] = { ok: false, error: withMessage(step.error, message) };
      return false;
    default:
      outcomes[item.index] = { ok: false, error: withMessage(error as TransferError, message) };
      item.state = step.state;
      return true;
  }
}

/** One round of one portal's items: their commands in as few `batch` calls as fit. */
async function runRound(
  caller: PortalCaller,
  portal: string,
  items: BatchItem[],
  deadline: number,
  attempts: { count: number },
): Promise<Decision[]> {
  const decisions: Decision[] = [];
  const groups = items.map((item) => ({ item, commands: commandsFor(item, {}) }));
  for (const batch of packBatches(groups)) {
    const batchItems = batch.map(({ item }) => item);
    try {
      const outcome = await caller.call(
        portal,
        (access) => ({
          method: "batch",
          params: { halt: 0, cmd: batchCommands(batchItems.flatMap((item) => commandsFor(item, access))) },
        }),
        deadline,
      );
      attempts.count += outcome.attempts;
      // An answer that is no batch answer at all says nothing of any command: the whole call is unknown.
      requireBatchAnswer(outcome.result);
      const keys = batch.flatMap(({ commands }) => commands.map((command) => command.key));
      decisions.push(
        ...readRound(batchItems, readBatchAnswer(outcome.result, keys, outcome.secrets), portal),
      );
    } catch (error) {
      // Not Bitrix24's answer but a fault of ours, maybe after the batch ran: its commands may have run.
      const failure = error instanceof TransferError ? error : interruptedOutcome();
      if (failure !== error) logUnexpected(error);
      attempts.count += failure.details.attempts ?? 0;
      decisions.push(...batchItems.map((item) => wholeCallFailed(item, failure)));
    }
  }
  return decisions;
}

function wholeCallFailed(item: BatchItem, error: TransferError): Decision {
  if (item.messagePending) {
    item.messagePending = false;
    item.message = messageFailure(error);
  }
  return { item, step: { kind: "failed", error }, error };
}

function readRound(items: BatchItem[], read: Map<string, CommandOutcome>, portal: string): Decision[] {
  const decisions: Decision[] = [];
  for (const item of items) {
    if (item.messagePending) {
      const sent = read.get(messageKey(item.index));
      const goesAgain = sent !== undefined && !sent.ok && sent.retry;
      if (sent?.ok) item.message = { sent: true };
      else if (sent && !goesAgain) item.message = messageFailure(sent.error);
      // A rate-limited message is written next round, still before its transfer.
      item.messagePending = goesAgain;
    }
    const handOver = read.get(handOverKey(item.index));
    if (handOver?.ok) decisions.push({ item, step: { kind: "ok" } });
    else if (handOver) {
      const step = afterFailure(item.state, handOver.error, handOver.retry, portal);
      decisions.push({ item, step, error: handOver.error });
    }
  }
  return decisions;
}

const messageKey = (index: number) => `m${index}`;
const handOverKey = (index: number) => `t${index}`;

/** An item's commands for this round: its message while pending, then its hand-over. */
function commandsFor(item: BatchItem, access: PortalAccess): BatchCommand[] {
  const { request, target } = item.state;
  const commands: BatchCommand[] = [];
  if (item.messagePending && request.message !== undefined) {
    commands.push({ key: messageKey(item.index), call: messageCall(request.chatId, request.message) });
  }
  commands.push({
    key: handOverKey(item.index),
    call: handOverCall(request.chatId, target, request.leave, access),
  });
  return commands;
}
