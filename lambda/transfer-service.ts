import { backOff, type CallResult, callMethod, DEFAULT_RETRY } from "./adapters/bitrix24-client.ts";
import { parseWebhookSecret, type WebhookCredentials } from "./adapters/portal-credentials.ts";
import { createSecretCache } from "./adapters/secret-cache.ts";
import { readSecret, SecretFormatError } from "./adapters/secrets-manager.ts";
import type { ServiceConfig } from "./config.ts";
import { batchCommands, commandKey, readBatchAnswer } from "./domain/batch.ts";
import { TransferError } from "./domain/problems.ts";
import {
  confirmTransfer,
  isCredentialsError,
  TRANSFER_METHOD,
  type TransferResult,
  transferParams,
} from "./domain/transfer.ts";
import type { TransferRequest } from "./domain/transfer-request.ts";

export interface TransferOutcome {
  result: TransferResult;
  attempts: number;
}

export type ItemOutcome = { ok: true; result: TransferResult } | { ok: false; error: TransferError };

export interface BatchOutcome {
  /** In the order of the request. Items that failed with one whole-call error share that error object. */
  items: ItemOutcome[];
  attempts: number;
}

export interface TransferService {
  /** Resolves the portal first, so an unknown portal fails before any secret is read. */
  portalFor(request: TransferRequest): string;
  transfer(request: TransferRequest, deadline: number): Promise<TransferOutcome>;
  /** One Bitrix24 `batch` call per portal; only commands that failed with a retryable error run again. */
  transferBatch(requests: readonly TransferRequest[], deadline: number): Promise<BatchOutcome>;
}

/** Rounds of a batch: the first run plus retries of commands that failed with a retryable error. */
const BATCH_ROUNDS = 3;

/**
 * Orchestrates transfers: portal → credentials (cached) → Bitrix24 → confirmation. A credentials
 * error re-reads the secret once, so a webhook rotated in Secrets Manager recovers without a redeploy.
 */
export function createTransferService(config: ServiceConfig): TransferService {
  const credentials = createSecretCache<WebhookCredentials>({
    ttlMs: config.secretCacheTtlMs,
    load: (secretId) => loadCredentials(secretId, config.allowHttpLoopback),
  });

  const portalFor = (request: TransferRequest): string => {
    const portal = request.portal ?? config.defaultPortal;
    if (portal === undefined) {
      throw new TransferError("UNKNOWN_PORTAL", {
        detail: `no default portal is configured; name one of: ${[...config.portals.keys()].join(", ")}`,
      });
    }
    if (!config.portals.has(portal)) {
      throw new TransferError("UNKNOWN_PORTAL", { detail: `portal "${portal}" is not configured` });
    }
    return portal;
  };

  /** Calls the portal; on a credentials error reads the secret again and, if it changed, calls once more. */
  const callPortal = async (
    portal: string,
    call: (creds: WebhookCredentials) => Promise<CallResult>,
  ): Promise<CallResult> => {
    const secretId = config.portals.get(portal) as string;
    const cached = await credentials.get(secretId);
    try {
      return await call(cached.value);
    } catch (error) {
      if (!isCredentialsError(error)) throw error;
      const fresh = await credentials.refresh(secretId, cached);
      // Unchanged credentials would fail the same way: report the first error, not a second call.
      if (fresh.value.restBase === cached.value.restBase) throw error;
      const outcome = await call(fresh.value);
      return { ...outcome, attempts: outcome.attempts + ((error as TransferError).details.attempts ?? 1) };
    }
  };

  const callOptions = (deadline: number) => ({ deadline, attemptTimeoutMs: config.attemptTimeoutMs });

  const runPortalBatch = async (
    portal: string,
    items: { index: number; request: TransferRequest }[],
    outcomes: ItemOutcome[],
    deadline: number,
  ): Promise<number> => {
    let attempts = 0;
    let pending = items;
    for (let round = 1; pending.length > 0; round++) {
      let answer: unknown;
      try {
        const commands = pending;
        const outcome = await callPortal(portal, (creds) =>
          callMethod(
            creds.restBase,
            "batch",
            { halt: 0, cmd: batchCommands(commands, creds) },
            callOptions(deadline),
          ),
        );
        attempts += outcome.attempts;
        answer = outcome.result;
      } catch (error) {
        if (!(error instanceof TransferError)) throw error;
        attempts += error.details.attempts ?? 0;
        for (const item of pending) outcomes[item.index] = { ok: false, error };
        return attempts;
      }

      const read = readBatchAnswer(
        answer,
        pending.map((item) => commandKey(item.index)),
      );
      const retry: typeof pending = [];
      for (const item of pending) {
        const outcome = read.get(commandKey(item.index));
        if (outcome?.ok) {
          outcomes[item.index] = { ok: true, result: confirmTransfer(true, item.request, portal) };
        } else if (outcome) {
          outcomes[item.index] = { ok: false, error: outcome.error };
          if (outcome.retry) retry.push(item);
        }
      }
      if (retry.length === 0 || round === BATCH_ROUNDS || !(await backOff(round, DEFAULT_RETRY, deadline)))
        break;
      pending = retry;
    }
    return attempts;
  };

  return {
    portalFor,

    async transfer(request, deadline) {
      const portal = portalFor(request);
      const outcome = await callPortal(portal, (creds) =>
        callMethod(creds.restBase, TRANSFER_METHOD, transferParams(request, creds), callOptions(deadline)),
      );
      return { result: confirmTransfer(outcome.result, request, portal), attempts: outcome.attempts };
    },

    async transferBatch(requests, deadline) {
      const groups = new Map<string, { index: number; request: TransferRequest }[]>();
      requests.forEach((request, index) => {
        let portal: string;
        try {
          portal = portalFor(request);
        } catch (error) {
          // The whole batch is refused before any call: bad input never reaches Bitrix24.
          if (error instanceof TransferError)
            error.details.detail = `transfers.${index}: ${error.details.detail}`;
          throw error;
        }
        const group = groups.get(portal) ?? [];
        group.push({ index, request });
        groups.set(portal, group);
      });
      const outcomes: ItemOutcome[] = new Array(requests.length);
      const attempts = await Promise.all(
        [...groups].map(([portal, items]) => runPortalBatch(portal, items, outcomes, deadline)),
      );
      return { items: outcomes, attempts: attempts.reduce((sum, n) => sum + n, 0) };
    },
  };
}

/** Secrets Manager failures become problems: a missing or unreadable secret is a configuration error, the rest is transient. */
async function loadCredentials(secretId: string, allowHttpLoopback: boolean): Promise<WebhookCredentials> {
  let raw: string;
  try {
    raw = (await readSecret(secretId)).value;
  } catch (error) {
    throw secretsManagerProblem(error);
  }
  return parseWebhookSecret(raw, { allowHttpLoopback });
}

const CONFIGURATION_FAILURES = new Set([
  "ResourceNotFoundException",
  "AccessDeniedException",
  "DecryptionFailure",
  "InvalidRequestException",
  "InvalidParameterException",
]);

function secretsManagerProblem(error: unknown): TransferError {
  if (error instanceof SecretFormatError) {
    return new TransferError("PORTAL_MISCONFIGURED", {
      detail: `the portal's secret is unusable: ${error.message}`,
    });
  }
  const name = error instanceof Error ? error.name : "UnknownError";
  if (CONFIGURATION_FAILURES.has(name)) {
    return new TransferError("PORTAL_MISCONFIGURED", {
      detail: `the portal's secret could not be read (${name}); check that it exists and the function may read it`,
    });
  }
  return new TransferError("CREDENTIALS_UNAVAILABLE", {
    detail: `Secrets Manager failed (${/^[A-Za-z]+$/.test(name) ? name : "error"}); try again shortly`,
    retryAfter: 2,
  });
}
