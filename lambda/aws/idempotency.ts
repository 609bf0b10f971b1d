import type { Context } from "aws-lambda";
import { TransferError } from "../domain/problems.ts";

/**
 * Deduplication for 24 h in DynamoDB with Powertools Idempotency: a replay returns the stored answer,
 * the same key with another payload is refused, and a duplicate that arrives while the first is still
 * running is told so. Powertools and the DynamoDB client (~575 KB) are imported on first use, so
 * requests without a key never pay for them at cold start.
 */
export interface Idempotency {
  /** Runs `work` once per key; `replayed` tells whether the answer came from an earlier run. */
  run<T>(
    key: string,
    payload: unknown,
    context: Context,
    work: () => Promise<T>,
  ): Promise<{ value: T; replayed: boolean }>;
}

export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

type Powertools = typeof import("@aws-lambda-powertools/idempotency");
type Persistence = InstanceType<
  typeof import("@aws-lambda-powertools/idempotency/dynamodb")["DynamoDBPersistenceLayer"]
>;

export function createIdempotency(tableName: string): Idempotency {
  let loading: Promise<{ powertools: Powertools; persistence: Persistence }> | undefined;
  const load = () =>
    (loading ??= Promise.all([
      import("@aws-lambda-powertools/idempotency"),
      import("@aws-lambda-powertools/idempotency/dynamodb"),
    ]).then(([powertools, dynamodb]) => ({
      powertools,
      persistence: new dynamodb.DynamoDBPersistenceLayer({ tableName }),
    })));

  return {
    async run(key, payload, context, work) {
      const { powertools, persistence } = await load();
      // A config per call: it holds the Lambda context, and one environment may serve concurrent invocations.
      const config = new powertools.IdempotencyConfig({
        eventKeyJmesPath: "key",
        payloadValidationJmesPath: "payload",
        expiresAfterSeconds: IDEMPOTENCY_TTL_SECONDS,
        throwOnNoIdempotencyKey: true,
      });
      config.registerLambdaContext(context);
      let ran = false;
      const once = powertools.makeIdempotent(
        async (_input: { key: string; payload: unknown }) => {
          ran = true;
          return work();
        },
        { persistenceStore: persistence, config },
      );
      try {
        const value = (await once({ key, payload })) as Awaited<ReturnType<typeof work>>;
        return { value, replayed: !ran };
      } catch (error) {
        throw asProblem(error, powertools);
      }
    },
  };
}

function asProblem(error: unknown, powertools: Powertools): unknown {
  if (error instanceof powertools.IdempotencyValidationError) {
    return new TransferError("IDEMPOTENCY_KEY_REUSED", {
      detail: "this Idempotency-Key was used with a different request in the last 24 hours; use a new key",
    });
  }
  if (error instanceof powertools.IdempotencyAlreadyInProgressError) {
    return new TransferError("REQUEST_IN_PROGRESS", {
      detail: "a request with this Idempotency-Key is still running; retry shortly to get its answer",
      retryAfter: 1,
    });
  }
  if (error instanceof powertools.IdempotencyPersistenceLayerError) {
    return new TransferError("IDEMPOTENCY_UNAVAILABLE", {
      detail: "the idempotency store could not be reached, so nothing was done; try again shortly",
      retryAfter: 2,
    });
  }
  return error;
}
