import { errorPolicy } from "./bitrix24-errors.ts";
import { isRecord } from "./is-record.ts";
import { TransferError } from "./problems.ts";
import { type PortalAccess, TRANSFER_METHOD, transferParams } from "./transfer.ts";
import type { TransferRequest } from "./transfer-request.ts";
import { upstreamError } from "./upstream-text.ts";

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

/** Reads each command's outcome from a batch answer's `result`; `secrets` are redacted from Bitrix24's texts. */
export function readBatchAnswer(
  answer: unknown,
  keys: readonly string[],
  secrets: readonly string[] = [],
): Map<string, CommandOutcome> {
  const results = isRecord(answer) && isRecord(answer.result) ? answer.result : {};
  const errors = isRecord(answer) && isRecord(answer.result_error) ? answer.result_error : {};
  const outcomes = new Map<string, CommandOutcome>();
  for (const key of keys) {
    const error = errors[key];
    if (isRecord(error) && typeof error.error === "string") {
      const bitrix24 = upstreamError(error.error, error.error_description, secrets);
      const policy = errorPolicy(0, bitrix24.error);
      outcomes.set(key, {
        ok: false,
        retry: policy.retry,
        error: new TransferError(policy.code, {
          detail: `Bitrix24 refused this transfer in the batch with ${bitrix24.error}`,
          bitrix24,
          ...(policy.retryAfter === undefined ? {} : { retryAfter: policy.retryAfter }),
        }),
      });
    } else if (results[key] === true) {
      outcomes.set(key, { ok: true });
    } else if (key in results) {
      outcomes.set(key, {
        ok: false,
        retry: false,
        error: new TransferError("UPSTREAM_ERROR", {
          detail: "Bitrix24 did not confirm this transfer in the batch",
        }),
      });
    } else {
      // Neither a result nor an error: the command did not run, so running it again is safe.
      outcomes.set(key, {
        ok: false,
        retry: true,
        error: new TransferError("UPSTREAM_ERROR", {
          detail: "Bitrix24 did not run this transfer in the batch",
        }),
      });
    }
  }
  return outcomes;
}
