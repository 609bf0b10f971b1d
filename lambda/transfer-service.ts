import { backOff, type CallResult, DEFAULT_RETRY } from "./adapters/bitrix24-client.ts";
import { callEndpoint, createPortalConnections } from "./adapters/portal-connection.ts";
import type { ServiceConfig } from "./config.ts";
import { batchCommands, commandKey, readBatchAnswer } from "./domain/batch.ts";
import { TransferError } from "./domain/problems.ts";
import {
  confirmTransfer,
  isCredentialsError,
  type PortalAccess,
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
  /** Reads the default portal's secret ahead of the first request; a failure is left for that request to meet. */
  prepare(): Promise<void>;
}

/** Rounds of a batch: the first run plus retries of commands that failed with a retryable error. */
const BATCH_ROUNDS = 3;

/**
 * Orchestrates transfers: portal → connection (webhook or OAuth application) → Bitrix24 → confirmation.
 */
export function createTransferService(config: ServiceConfig): TransferService {
  const connections = createPortalConnections({
    portals: config.portals,
    oauthPortals: config.oauthPortals,
    secretCacheTtlMs: config.secretCacheTtlMs,
    allowHttpLoopback: config.allowHttpLoopback,
    oauthTokenUrl: config.oauthTokenUrl,
    attemptTimeoutMs: config.attemptTimeoutMs,
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

  const callOptions = (deadline: number) => ({ deadline, attemptTimeoutMs: config.attemptTimeoutMs });

  /**
   * Calls the portal as its connection says; on a credentials error the connection recovers (re-reads a
   * rotated webhook, or renews an application's token) and the call runs once more.
   */
  const callPortal = async (
    portal: string,
    method: string,
    params: (access: PortalAccess) => Record<string, unknown>,
    deadline: number,
  ): Promise<CallResult> => {
    const connection = await connections.get(portal);
    const used = await connection.endpoint(deadline);
    try {
      return await callEndpoint(used, method, params(used.access), callOptions(deadline));
    } catch (error) {
      if (!isCredentialsError(error)) throw error;
      const failure = error as TransferError;
      const next = await connection.recover(used, failure, deadline);
      // Credentials that would fail the same way: report the first error, not a second call.
      if (!next) throw error;
      const outcome = await callEndpoint(next, method, params(next.access), callOptions(deadline));
      return { ...outcome, attempts: outcome.attempts + (failure.details.attempts ?? 1) };
    }
  };

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
        const outcome = await callPortal(
          portal,
          "batch",
          (access) => ({ halt: 0, cmd: batchCommands(commands, access) }),
          deadline,
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

    async prepare() {
      if (config.defaultPortal === undefined) return;
      await connections.get(config.defaultPortal).catch(() => undefined);
    },

    async transfer(request, deadline) {
      const portal = portalFor(request);
      const outcome = await callPortal(
        portal,
        TRANSFER_METHOD,
        (access) => transferParams(request, access),
        deadline,
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
