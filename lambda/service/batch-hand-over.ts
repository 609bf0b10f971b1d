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
import {
  afterFailure,
  type HandOverState,
  handedOver,
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

/** One portal's items, round after round; fills `outcomes` at the items' indexes, returns the attempts. */
export async function handOverBatch(
  caller: PortalCaller,
  portal: string,
  items: BatchItem[],
  outcomes: ItemOutcome[],
  deadline: number,
): Promise<number> {
  const attempts = { count: 0 };
  let pending = items;
  let inFlight: BatchItem[] = [];
  try {
    for (let round = 1; pending.length > 0; round++) {
      inFlight = pending;
      const decisions = await runRound(caller, portal, pending, deadline, attempts);
      inFlight = [];
      const again = decisions.filter((decision) => record(decision, portal, outcomes));
      if (again.length === 0 || round === BATCH_ROUNDS) break;
      const waitForLock = again.some(({ step }) => step.kind === "again" && step.waitForLock);
      const waited = waitForLock
        ? await sleepWithin(LOCK_RETRY_MS, deadline)
        : await backOff(round, DEFAULT_RETRY, deadline);
      if (!waited) break;
      pending = again.map(({ item }) => item);
    }
  } catch (error) {
    // A throw would lose what the rounds so far decided (and, from an event, make Lambda send it all
    // again): decided items keep their outcome, the rest may have run.
    logUnexpected(error);
    for (const item of items) {
      if (inFlight.includes(item) || outcomes[item.index] === undefined) {
        const message = item.messagePending ? messageFailure(interruptedOutcome()) : item.message;
        outcomes[item.index] = { ok: false, error: withMessage(interruptedOutcome(), message) };
      }
    }
  }
  return attempts.count;
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
