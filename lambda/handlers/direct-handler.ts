/**
 * `aws lambda invoke` and any caller passing the request itself, or `{idempotencyKey, request}` to run
 * it at most once (what `npm run replay-failures` sends). Failures are thrown with the code as their name.
 */
import { requireTransferInput } from "../domain/transfer-request.ts";
import { directResult } from "./answers.ts";
import { executeInput } from "./execute-input.ts";
import { asTransferError } from "./failures.ts";
import type { Handled, InvocationRun } from "./invocation-run.ts";
import { failureFields } from "./log-fields.ts";

export async function handleDirect(
  payload: unknown,
  key: string | undefined,
  run: InvocationRun,
): Promise<Handled> {
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
