import { type ProblemDocument, type TransferError, toProblemDocument } from "../domain/problems.ts";
import type { BatchOutcome, TransferResult } from "../domain/transfer-outcome.ts";
import type { TransferInput, TransferRequest } from "../domain/transfer-request.ts";
import type { TransferService } from "../service/transfer-service.ts";

/** What running a single request or a batch produced. A single failure is thrown as a TransferError. */
export type InputOutcome =
  | { kind: "single"; result: TransferResult; attempts: number; reads?: number | undefined }
  | { kind: "batch"; requests: TransferRequest[]; outcome: BatchOutcome };

export async function runTransferInput(
  input: TransferInput,
  service: TransferService,
  deadline: number,
): Promise<InputOutcome> {
  if (input.kind === "single") {
    const { result, attempts, reads } = await service.transfer(input.request, deadline);
    return { kind: "single", result, attempts, reads };
  }
  return {
    kind: "batch",
    requests: input.requests,
    outcome: await service.transferBatch(input.requests, deadline),
  };
}

export type BatchItemResponse =
  | TransferResult
  | {
      transferred: false;
      chatId: number;
      target: TransferRequest["target"];
      problem: Omit<ProblemDocument, "requestId">;
    };

export interface BatchResponse {
  succeeded: number;
  failed: number;
  results: BatchItemResponse[];
  requestId: string;
}

export function batchResponse(
  requests: TransferRequest[],
  outcome: BatchOutcome,
  requestId: string,
): BatchResponse {
  const results = outcome.items.map((item, index): BatchItemResponse => {
    if (item.ok) return item.result;
    const { requestId: _omitted, ...problem } = toProblemDocument(item.error, requestId);
    const request = requests[index] as TransferRequest;
    return { transferred: false, chatId: request.chatId, target: request.target, problem };
  });
  const succeeded = outcome.items.filter((item) => item.ok).length;
  return { succeeded, failed: results.length - succeeded, results, requestId };
}

/** When every item failed with one whole-call error (say, the portal's credentials), that error is the answer. */
export function sharedFailure(outcome: BatchOutcome): TransferError | undefined {
  const [first] = outcome.items;
  if (!first || first.ok) return undefined;
  return outcome.items.every((item) => !item.ok && item.error === first.error) ? first.error : undefined;
}
