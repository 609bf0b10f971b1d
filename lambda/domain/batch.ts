import { errorPolicy } from "./bitrix24-errors.ts";
import { isRecord } from "./is-record.ts";
import { TransferError, UNKNOWN_OUTCOME_ADVICE } from "./problems.ts";
import { type PortalAccess, TRANSFER_METHOD, transferParams } from "./transfer.ts";
import type { TransferRequest } from "./transfer-request.ts";

/**
 * Bitrix24 `batch`: up to 50 commands in one hit against the rate limit. Each command is a query string;
 * its own entry in `result` / `result_error` decides its outcome: the batch call succeeding says nothing
 * about the commands.
 */

export type CommandOutcome = { ok: true } | { ok: false; error: TransferError; retry: boolean };

/** Named keys: Bitrix24 turns keys 0..n-1 into a JSON list, which is easy to misread. */
export const commandKey = (index: number) => `t${index}`;

export function batchCommands(
  items: readonly { index: number; request: TransferRequest }[],
  access: PortalAccess,
): Record<string, string> {
  const cmd: Record<string, string> = {};
  for (const { index, request } of items) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(transferParams(request, access)))
      query.set(name, String(value));
    cmd[commandKey(index)] = `${TRANSFER_METHOD}?${query}`;
  }
  return cmd;
}

/**
 * Reads each command's outcome from a batch answer's `result`. With `halt: 0` every command runs and
 * leaves an entry in `result` or `result_error` (rest_provider.php `batch`), so a command with neither,
 * or with a result other than true, may have run: its outcome is unknown and it is never sent again.
 */
export function readBatchAnswer(answer: unknown, keys: readonly string[]): Map<string, CommandOutcome> {
  const results = isRecord(answer) && isRecord(answer.result) ? answer.result : {};
  const errors = isRecord(answer) && isRecord(answer.result_error) ? answer.result_error : {};
  const outcomes = new Map<string, CommandOutcome>();
  for (const key of keys) {
    const error = errors[key];
    if (isRecord(error) && typeof error.error === "string") {
      outcomes.set(key, commandRefusal(error.error, error.error_description));
    } else if (results[key] === true) {
      outcomes.set(key, { ok: true });
    } else {
      outcomes.set(key, {
        ok: false,
        retry: false,
        error: new TransferError("OUTCOME_UNKNOWN", {
          detail: `Bitrix24 ${key in results ? "did not confirm" : "gave no answer for"} this transfer in the batch; ${UNKNOWN_OUTCOME_ADVICE}`,
        }),
      });
    }
  }
  return outcomes;
}

function commandRefusal(code: string, rawDescription: unknown): CommandOutcome {
  const policy = errorPolicy(0, code);
  const description = typeof rawDescription === "string" ? rawDescription : undefined;
  const bitrix24 = description === undefined ? { error: code } : { error: code, description };
  if (policy.outcomeUnknown) {
    return {
      ok: false,
      retry: false,
      error: new TransferError("OUTCOME_UNKNOWN", {
        detail: `Bitrix24 failed with ${code} on this transfer in the batch; ${UNKNOWN_OUTCOME_ADVICE}`,
        bitrix24,
      }),
    };
  }
  return {
    ok: false,
    // The queue lock (OPERATOR_WRONG) is worth the next round: nothing ran.
    retry: policy.retry || policy.retryOnceAfterMs !== undefined,
    error: new TransferError(policy.code, {
      detail: `Bitrix24 refused this transfer in the batch with ${code}`,
      bitrix24,
      ...(policy.retryAfter === undefined ? {} : { retryAfter: policy.retryAfter }),
    }),
  };
}
