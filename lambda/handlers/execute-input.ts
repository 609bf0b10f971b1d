/**
 * Runs a validated request or batch, once per idempotency key when it has one, and says what happened
 * as an answer or a failure, with the log fields learnt on the way.
 */
import { ConfigError } from "../config.ts";
import { TransferError } from "../domain/problems.ts";
import type { TransferInput } from "../domain/transfer-request.ts";
import { type Answer, answerFor, problemAnswer } from "./answers.ts";
import { asTransferError } from "./failures.ts";
import type { InvocationRun } from "./invocation-run.ts";
import { failureFields, inputFields, type LogFields, outcomeFields } from "./log-fields.ts";
import { runTransferInput } from "./transfer-input.ts";

export type Executed =
  | { answer: Answer; replayed: boolean; log: LogFields }
  | { failure: TransferError; log: LogFields };

export async function executeInput(
  input: TransferInput,
  key: string | undefined,
  run: InvocationRun,
): Promise<Executed> {
  let learnt: LogFields = {};
  try {
    const { service, idempotency } = run.dependencies();
    learnt = inputFields(input, service);
    const described = learnt;
    const work = async (): Promise<Answer> => {
      try {
        const outcome = await runTransferInput(input, service, run.deadline);
        learnt = { ...described, ...outcomeFields(outcome).log };
        return answerFor(outcome, run.requestId);
      } catch (error) {
        // A failure after the message was written is stored under the key: a retry must not write it twice.
        if (!(error instanceof TransferError) || error.details.message?.sent !== true) throw error;
        learnt = { ...described, ...failureFields(error) };
        return problemAnswer(error, run.requestId);
      }
    };
    if (key === undefined) return { answer: await work(), replayed: false, log: learnt };
    if (!idempotency) {
      throw new ConfigError("a request carries an idempotency key but IDEMPOTENCY_TABLE is not set");
    }
    const { value, replayed } = await idempotency.run(key, input, run.context, work);
    return { answer: value, replayed, log: replayed ? { ...learnt, replayed: true } : learnt };
  } catch (error) {
    const failure = asTransferError(error);
    return { failure, log: { ...learnt, ...failureFields(failure) } };
  }
}
