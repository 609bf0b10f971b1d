/**
 * Bitrix24 `batch`: up to 50 commands in one hit against the rate limit. Each command is a query string;
 * its own entry in `result` / `result_error` decides its outcome: the batch call succeeding says nothing
 * about the commands.
 */
import { isRecord } from "../domain/is-record.ts";
import { type Bitrix24Error, TransferError, UNKNOWN_OUTCOME_ADVICE } from "../domain/problems.ts";
import { upstreamError } from "../domain/safe-text.ts";
import type { MethodCall } from "./methods.ts";
import { refusal } from "./refusal.ts";

export type CommandOutcome = { ok: true } | { ok: false; error: TransferError; retry: boolean };

/** Bitrix24 runs at most this many commands per `batch` call (rest_provider.php `batch`). */
export const MAX_BATCH_COMMANDS = 50;

/** One command of a batch under a key of ours. */
export interface BatchCommand {
  key: string;
  call: MethodCall;
}

/**
 * Commands as Bitrix24 takes them: `method?PARAM=value&…`. Named keys, because Bitrix24 turns keys
 * 0..n-1 into a JSON list, which is easy to misread; commands run in the order given.
 */
export function batchCommands(commands: readonly BatchCommand[]): Record<string, string> {
  const cmd: Record<string, string> = {};
  for (const { key, call } of commands) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(call.params)) query.set(name, String(value));
    cmd[key] = `${call.method}?${query}`;
  }
  return cmd;
}

/**
 * Splits groups of commands (each group: one chat's commands, in order) into batches of at most 50
 * commands, never splitting a group, so a message always travels with its transfer, just before it.
 */
export function packBatches<T extends { commands: readonly BatchCommand[] }>(groups: readonly T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const group of groups) {
    if (size + group.commands.length > MAX_BATCH_COMMANDS && current.length > 0) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(group);
    size += group.commands.length;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** A batch answer is an object; anything else (false, a string…) came from something between us and `batch`. */
export function requireBatchAnswer(answer: unknown): void {
  if (!isRecord(answer)) {
    throw new TransferError("OUTCOME_UNKNOWN", {
      detail: `Bitrix24 answered the batch without its results; ${UNKNOWN_OUTCOME_ADVICE}`,
    });
  }
}

/**
 * Reads each command's outcome from a batch answer's `result`. With `halt: 0` every command runs and
 * leaves an entry in `result` or `result_error` (rest_provider.php `batch`), so a command with neither,
 * or with a result other than true, may have run: its outcome is unknown and it is never sent again.
 */
export function readBatchAnswer(
  answer: unknown,
  keys: readonly string[],
  secrets: readonly string[],
): Map<string, CommandOutcome> {
  const results = isRecord(answer) && isRecord(answer.result) ? answer.result : {};
  const errors = isRecord(answer) && isRecord(answer.result_error) ? answer.result_error : {};
  const outcomes = new Map<string, CommandOutcome>();
  for (const key of keys) {
    const error = errors[key];
    if (isRecord(error) && typeof error.error === "string") {
      outcomes.set(key, commandRefusal(upstreamError(error.error, error.error_description, secrets)));
    } else if (results[key] === true) {
      outcomes.set(key, { ok: true });
    } else {
      outcomes.set(key, {
        ok: false,
        retry: false,
        error: new TransferError("OUTCOME_UNKNOWN", {
          detail: `Bitrix24 ${key in results ? "did not confirm" : "gave no answer for"} this command in the batch; ${UNKNOWN_OUTCOME_ADVICE}`,
        }),
      });
    }
  }
  return outcomes;
}

/** A command's error entry: its code decides, as for a single call (status 0: commands have none). */
function commandRefusal(bitrix24: Bitrix24Error): CommandOutcome {
  const { error, retry, retryInBatch } = refusal(0, bitrix24, false);
  // The queue lock (OPERATOR_WRONG) is the hand-over's decision (domain/hand-over.ts), not a plain retry.
  return { ok: false, error, retry: retry || retryInBatch === true };
}

export type ReadOutcome = { ok: true; result: unknown } | { ok: false; error: TransferError };

/**
 * Reads each read-only command's value from a batch answer. A read changes nothing, so a command with
 * no entry is simply a failed read (UPSTREAM_ERROR), never an unknown outcome.
 */
export function readBatchValues(
  answer: unknown,
  keys: readonly string[],
  secrets: readonly string[],
): Map<string, ReadOutcome> {
  const results = isRecord(answer) && isRecord(answer.result) ? answer.result : {};
  const errors = isRecord(answer) && isRecord(answer.result_error) ? answer.result_error : {};
  const outcomes = new Map<string, ReadOutcome>();
  for (const key of keys) {
    const error = errors[key];
    if (isRecord(error) && typeof error.error === "string") {
      const bitrix24 = upstreamError(error.error, error.error_description, secrets);
      outcomes.set(key, { ok: false, error: refusal(0, bitrix24, true).error });
    } else if (key in results) {
      outcomes.set(key, { ok: true, result: results[key] });
    } else {
      const detail = "Bitrix24 gave no answer for this read in the batch";
      outcomes.set(key, { ok: false, error: new TransferError("UPSTREAM_ERROR", { detail }) });
    }
  }
  return outcomes;
}
