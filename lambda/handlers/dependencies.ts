import { type FailedItem, sendToFailureQueue } from "../aws/failure-queue.ts";
import { createIdempotency, type Idempotency } from "../aws/idempotency.ts";
import { loadConfig } from "../config.ts";
import { createTransferService, type TransferService } from "../service/transfer-service.ts";

/** What the handlers work with, built once per container from the environment (or given by tests). */
export interface Dependencies {
  service: TransferService;
  failureQueueUrl: string | undefined;
  sendFailures: (queueUrl: string, items: readonly FailedItem[]) => Promise<void>;
  idempotency?: Idempotency | undefined;
}

export function defaultDependencies(): Dependencies {
  const config = loadConfig();
  return {
    service: createTransferService(config),
    failureQueueUrl: config.failureQueueUrl,
    sendFailures: (queueUrl, items) => sendToFailureQueue(queueUrl, items, config.failureSigningSecret),
    idempotency: config.idempotencyTable ? createIdempotency(config.idempotencyTable) : undefined,
  };
}
