/**
 * `aws lambda invoke` and any caller passing the request itself, or `{idempotencyKey, request}` to run
 * it at most once (what `npm run replay-failures` sends). Failures are thrown with the code as their name.
 */
import { isRecord } from "../domain/is-record.ts";
import { TransferError } from "../domain/problems.ts";
import { requireTransferInput } from "../domain/transfer-request.ts";
import { directResult } from "./answers.ts";
import { readChat } from "./chat-read.ts";
import { executeInput } from "./execute-input.ts";
import { asTransferError } from "./failures.ts";
import type { Handled, InvocationRun } from "./invocation-run.ts";
import { failureFields } from "./log-fields.ts";

export async function handleDirect(
  payload: unknown,
  key: string | undefined,
  run: InvocationRun,
): Promise<Handled> {
  if (isRecord(payload) && "readChat" in payload) return readChatDirect(payload, run);
  try {
    const input = requireTransferInput(payload);
    const executed = await executeInput(input, key === undefined ? undefined : `direct:${key}`, run);
    if ("failure" in executed)
      return { log: executed.log, result: { kind: "throw", error: executed.failure } };
    return { log: executed.log, result: directResult(executed.answer) };
  } catch (error) {
    const failure = asTransferError(error);
    return { log: failureFields(failure), result: { kind: "throw", error: failure } };
  }
}

/** `{"readChat": {"chatId": 112, "portal": "main"}}`: the chat's state, or the problem thrown. */
async function readChatDirect(payload: Record<string, unknown>, run: InvocationRun): Promise<Handled> {
  if (Object.keys(payload).length !== 1) {
    const error = new TransferError("VALIDATION_FAILED", {
      detail: 'a direct read must be {"readChat": {"chatId": …, "portal"?: …}} and nothing else',
    });
    return { log: failureFields(error), result: { kind: "throw", error } };
  }
  const read = await readChat(payload.readChat, run);
  if (!read.ok) return { log: read.log, result: { kind: "throw", error: read.failure } };
  return { log: read.log, result: { kind: "return", value: read.body } };
}
