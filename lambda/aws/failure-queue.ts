/**
 * Sends asynchronous work that finally failed to the SQS failure queue, one message per item, so that
 * nothing is silently dropped and items that succeeded are never retried with it. Each message is
 * signed (failure-signature.ts) with the key in FAILURE_SIGNING_SECRET. The SQS client is imported on
 * first use: invocations that never fail never load it.
 */
import { logger } from "../observability/logger.ts";
import { SIGNATURE_ATTRIBUTE, signBody } from "./failure-signature.ts";
import { awsErrorName, readSecret } from "./secrets-manager.ts";

export interface FailedItem {
  /** The problem code, also set as a message attribute for filtering. */
  code: string;
  /**
   * The transfer may have run (`OUTCOME_UNKNOWN`): replaying it could hand the chat over twice, so
   * `npm run replay-failures` skips it unless told otherwise.
   */
  outcomeUnknown: boolean;
  problem: Record<string, unknown>;
  /** The request exactly as the caller sent it (or the raw payload when it could not be read). */
  request: unknown;
  index?: number;
  origin: Record<string, unknown>;
  requestId: string;
  failedAt: string;
}

type SqsModule = typeof import("@aws-sdk/client-sqs");
let sqs: Promise<{ module: SqsModule; client: InstanceType<SqsModule["SQSClient"]> }> | undefined;

function sqsClient() {
  sqs ??= import("@aws-sdk/client-sqs").then((module) => ({ module, client: new module.SQSClient({}) }));
  return sqs;
}

/** SQS takes at most 10 messages per SendMessageBatch call. */
const SQS_BATCH = 10;

let signingKey: Promise<string> | undefined;

/**
 * The signing key, read once per container. Without it an item is still parked, unsigned (never lost):
 * the replay tool keeps unsigned items and says why, and the error is logged here.
 */
async function readSigningKey(secretId: string | undefined): Promise<string | undefined> {
  if (!secretId) return undefined;
  signingKey ??= readSecret(secretId).then((read) => read.value);
  try {
    return await signingKey;
  } catch (error) {
    signingKey = undefined;
    logger.error("the failure-queue signing key could not be read; parking unsigned items", {
      error: awsErrorName(error),
    });
    return undefined;
  }
}

export async function sendToFailureQueue(
  queueUrl: string,
  items: readonly FailedItem[],
  signingSecretId?: string,
): Promise<void> {
  const { module, client } = await sqsClient();
  const key = await readSigningKey(signingSecretId);
  for (let start = 0; start < items.length; start += SQS_BATCH) {
    let entries = items.slice(start, start + SQS_BATCH).map((item, offset) => {
      const body = JSON.stringify(item);
      return {
        Id: String(start + offset),
        MessageBody: body,
        MessageAttributes: {
          code: { DataType: "String", StringValue: item.code },
          outcomeUnknown: { DataType: "String", StringValue: String(item.outcomeUnknown) },
          ...(key ? { [SIGNATURE_ATTRIBUTE]: { DataType: "String", StringValue: signBody(body, key) } } : {}),
        },
      };
    });
    // SendMessageBatch can fail per entry; send those once more before giving up.
    for (let round = 0; round < 2 && entries.length > 0; round++) {
      const output = await client.send(
        new module.SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }),
      );
      const failed = new Set((output.Failed ?? []).map((entry) => entry.Id));
      entries = entries.filter((entry) => failed.has(entry.Id));
    }
    if (entries.length > 0) throw new Error(`the failure queue refused ${entries.length} message(s)`);
  }
}
