import { backOff, type CallResult, DEFAULT_RETRY, sleepWithin } from "../bitrix24/client.ts";
import { logger } from "../observability/logger.ts";
import { publishPortalMoved } from "../observability/metrics.ts";
import { callEndpoint, createPortalConnections, type PortalEndpoint } from "../portals/connections.ts";
import type { ServiceConfig } from "../config.ts";
import {
  type BatchCommand,
  batchCommands,
  packBatches,
  readBatchAnswer,
  requireBatchAnswer,
} from "../bitrix24/batch.ts";
import { LOCK_RETRY_MS } from "../bitrix24/error-policy.ts";
import {
  afterFailure,
  type HandOverState,
  handedOver,
  type MessageOutcome,
  messageFailure,
  type NextStep,
  startHandOver,
  type TransferResult,
} from "../domain/hand-over.ts";
import { TransferError } from "../domain/problems.ts";
import {
  handOverCall,
  isCredentialsError,
  type MethodCall,
  messageCall,
  type PortalAccess,
  requireConfirmed,
} from "../bitrix24/methods.ts";
import { duplicateChats, duplicateChatsProblem, type TransferRequest } from "../domain/transfer-request.ts";
import { endpointSecrets } from "../domain/safe-text.ts";

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
  /** Bitrix24 `batch` calls per portal (50 commands each); only commands that certainly did not run go again. */
  transferBatch(requests: readonly TransferRequest[], deadline: number): Promise<BatchOutcome>;
  /** Reads the default portal's secret ahead of the first request; a failure is left for that request to meet. */
  prepare(): Promise<void>;
}

/** Rounds of a batch: the first run, then lock retries, fallbacks and rate-limited commands. */
const BATCH_ROUNDS = 4;

/** A batch item in flight: its hand-over and, until it is decided, its message. */
interface BatchItem {
  index: number;
  state: HandOverState;
  messagePending: boolean;
  message?: MessageOutcome;
}

/**
 * Orchestrates hand-overs: portal → connection (webhook or OAuth application) → Bitrix24 → confirmation.
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

  /**
   * REST bases of portals that answered with a new address: the rest of this container's calls go there
   * directly. The secret still holds the old address until someone updates it; the warning says so.
   */
  const moved = new Map<string, string>();
  const call = (
    portal: string,
    endpoint: PortalEndpoint,
    method: string,
    params: Record<string, unknown>,
    deadline: number,
  ) => {
    const restBase = moved.get(endpoint.restBase) ?? endpoint.restBase;
    return callEndpoint({ ...endpoint, restBase }, method, params, {
      deadline,
      attemptTimeoutMs: config.attemptTimeoutMs,
      allowHttpLoopback: config.allowHttpLoopback,
      onMoved: (newBase) => {
        moved.set(endpoint.restBase, newBase);
        logger.warn(
          "the portal has moved to a new address; calls follow it, but update the portal's secret",
          {
            portal,
            newHost: new URL(newBase).host,
          },
        );
        publishPortalMoved(portal);
      },
    });
  };

  /**
   * Calls the portal as its connection says; on a credentials error the connection recovers (re-reads a
   * rotated webhook, or renews an application's token) and the call runs once more. Credentials errors
   * are refusals before anything ran, so that second call is safe.
   */
  const callPortal = async (
    portal: string,
    make: (access: PortalAccess) => MethodCall | { method: string; params: Record<string, unknown> },
    deadline: number,
  ): Promise<CallResult & { secrets: string[] }> => {
    const connection = await connections.get(portal);
    const used = await connection.endpoint(deadline);
    try {
      const { method, params } = make(used.access);
      const outcome = await call(portal, used, method, params, deadline);
      return { ...outcome, secrets: endpointSecrets(used.restBase, used.auth) };
    } catch (error) {
      if (!isCredentialsError(error)) throw error;
      const failure = error as TransferError;
      const next = await connection.recover(used, failure, deadline);
      // Credentials that would fail the same way: report the first error, not a second call.
      if (!next) throw error;
      const { method, params } = make(next.access);
      const outcome = await call(portal, next, method, params, deadline);
      return {
        ...outcome,
        attempts: outcome.attempts + (failure.details.attempts ?? 1),
        secrets: endpointSecrets(next.restBase, next.auth),
      };
    }
  };

  /** One confirmed call, counting its attempts into `attempts` whether it succeeds or not. */
  const confirmedCall = async (
    portal: string,
    make: (access: PortalAccess) => MethodCall,
    what: string,
    deadline: number,
    attempts: { count: number },
  ): Promise<void> => {
    try {
      const outcome = await callPortal(portal, make, deadline);
      attempts.count += outcome.attempts;
      requireConfirmed(outcome.result, what);
    } catch (error) {
      if (error instanceof TransferError) attempts.count += error.details.attempts ?? 0;
      throw error;
    }
  };

  /** A single request: the message, then the target (and its fallback), each a call of its own. */
  const transfer = async (request: TransferRequest, deadline: number): Promise<TransferOutcome> => {
    const portal = portalFor(request);
    const attempts = { count: 0 };
    let message: MessageOutcome | undefined;
    if (request.message !== undefined) {
      const text = request.message;
      try {
        await confirmedCall(portal, () => messageCall(request.chatId, text), "message", deadline, attempts);
        message = { sent: true };
      } catch (error) {
        // A portal that refuses our credentials will refuse the transfer too: that ends the request.
        if (!(error instanceof TransferError) || error.code === "PORTAL_MISCONFIGURED") throw error;
        message = messageFailure(error);
      }
    }
    // The client already retried rate limits and the queue lock; the steps left are fallback and proof.
    let state: HandOverState = { ...startHandOver(request), lockRetried: true };
    for (;;) {
      const current = state;
      try {
        await confirmedCall(
          portal,
          (access) => handOverCall(request.chatId, current.target, request.leave, access),
          "transfer",
          deadline,
          attempts,
        );
        return { result: handedOver(current, portal, message), attempts: attempts.count };
      } catch (error) {
        if (!(error instanceof TransferError)) throw error;
        const next = afterFailure(current, error, false, portal);
        if (next.kind === "done")
          return { result: { ...next.result, ...(message ? { message } : {}) }, attempts: attempts.count };
        if (next.kind === "failed") throw withMessage(next.error, message);
        state = { ...next.state, lockRetried: true };
      }
    }
  };

  /** One round of one portal's batch items: their commands in as few `batch` calls as fit. */
  const runRound = async (
    portal: string,
    items: BatchItem[],
    deadline: number,
    attempts: { count: number },
  ) => {
    const groups = items.map((item) => ({ item, commands: [] as BatchCommand[] }));
    const decided: { item: BatchItem; step: NextStep | { kind: "ok" }; error?: TransferError }[] = [];
    for (const batch of packBatches(
      groups.map((group) => ({ ...group, commands: commandsFor(group.item, {}) })),
    )) {
      let answer: unknown;
      let secrets: string[];
      try {
        const outcome = await callPortal(
          portal,
          (access) => ({
            method: "batch",
            params: {
              halt: 0,
              cmd: batchCommands(batch.flatMap((group) => commandsFor(group.item, access))),
            },
          }),
          deadline,
        );
        attempts.count += outcome.attempts;
        // An answer that is no batch answer at all says nothing of any command: the whole call is unknown.
        requireBatchAnswer(outcome.result);
        answer = outcome.result;
        secrets = outcome.secrets;
      } catch (error) {
        if (!(error instanceof TransferError)) throw error;
        attempts.count += error.details.attempts ?? 0;
        for (const { item } of batch) {
          if (item.messagePending) {
            item.messagePending = false;
            item.message = messageFailure(error);
          }
          decided.push({ item, step: { kind: "failed", error }, error });
        }
        continue;
      }
      const read = readBatchAnswer(
        answer,
        batch.flatMap((group) => commandsFor(group.item, {}).map((command) => command.key)),
        secrets,
      );
      for (const { item } of batch) {
        if (item.messagePending) {
          const sent = read.get(messageKey(item.index));
          const goesAgain = sent && !sent.ok && sent.retry;
          if (sent?.ok) item.message = { sent: true };
          else if (sent && !goesAgain) item.message = messageFailure(sent.error);
          // A rate-limited message is written next round, still before its transfer.
          item.messagePending = Boolean(goesAgain);
        }
        const handOver = read.get(handOverKey(item.index));
        if (handOver?.ok) decided.push({ item, step: { kind: "ok" } });
        else if (handOver) {
          const step = afterFailure(item.state, handOver.error, handOver.retry, portal);
          decided.push({ item, step, error: handOver.error });
        }
      }
    }
    return decided;
  };

  const runPortalBatch = async (
    portal: string,
    items: BatchItem[],
    outcomes: ItemOutcome[],
    deadline: number,
  ): Promise<number> => {
    const attempts = { count: 0 };
    let pending = items;
    for (let round = 1; pending.length > 0; round++) {
      const again: BatchItem[] = [];
      let waitForLock = false;
      for (const { item, step, error } of await runRound(portal, pending, deadline, attempts)) {
        const message = item.message;
        if (step.kind === "ok") {
          outcomes[item.index] = { ok: true, result: handedOver(item.state, portal, message) };
        } else if (step.kind === "done") {
          outcomes[item.index] = { ok: true, result: { ...step.result, ...(message ? { message } : {}) } };
        } else if (step.kind === "failed") {
          outcomes[item.index] = { ok: false, error: withMessage(step.error, message) };
        } else {
          // Its refusal stands, in case no round is left to run it again: nothing ran.
          outcomes[item.index] = { ok: false, error: withMessage(error as TransferError, message) };
          item.state = step.state;
          waitForLock ||= step.waitForLock;
          again.push(item);
        }
      }
      if (again.length === 0 || round === BATCH_ROUNDS) break;
      const waited = waitForLock
        ? await sleepWithin(LOCK_RETRY_MS, deadline)
        : await backOff(round, DEFAULT_RETRY, deadline);
      if (!waited) break;
      pending = again;
    }
    return attempts.count;
  };

  const transferBatch = async (
    requests: readonly TransferRequest[],
    deadline: number,
  ): Promise<BatchOutcome> => {
    const groups = new Map<string, BatchItem[]>();
    const portals = requests.map((request, index) => {
      try {
        return portalFor(request);
      } catch (error) {
        // The whole batch is refused before any call: bad input never reaches Bitrix24.
        if (error instanceof TransferError)
          error.details.detail = `transfers.${index}: ${error.details.detail}`;
        throw error;
      }
    });
    // Checked again once the default portal is filled in: {"chatId": 115} and {"chatId": 115, "portal": "main"} are one chat.
    const duplicates = duplicateChatsProblem(
      duplicateChats(requests, (_, index) => portals[index] as string),
    );
    if (duplicates) throw duplicates;
    requests.forEach((request, index) => {
      const portal = portals[index] as string;
      const group = groups.get(portal) ?? [];
      group.push({ index, state: startHandOver(request), messagePending: request.message !== undefined });
      groups.set(portal, group);
    });
    const outcomes: ItemOutcome[] = new Array(requests.length);
    const attempts = await Promise.all(
      [...groups].map(([portal, items]) => runPortalBatch(portal, items, outcomes, deadline)),
    );
    return { items: outcomes, attempts: attempts.reduce((sum, n) => sum + n, 0) };
  };

  /** Reads the default portal's secret ahead of the first request (INIT); a failure costs nothing now. */
  const prepare = async () => {
    if (config.defaultPortal === undefined) return;
    await connections.prepare(config.defaultPortal);
  };

  return { portalFor, prepare, transfer, transferBatch };
}

const messageKey = (index: number) => `m${index}`;
const handOverKey = (index: number) => `t${index}`;

/** An item's commands for this round: its message while pending, then its hand-over. */
function commandsFor(item: BatchItem, access: PortalAccess): BatchCommand[] {
  const { request, target } = item.state;
  const commands: BatchCommand[] = [];
  if (item.messagePending && request.message !== undefined) {
    commands.push({ key: messageKey(item.index), call: messageCall(request.chatId, request.message) });
  }
  commands.push({
    key: handOverKey(item.index),
    call: handOverCall(request.chatId, target, request.leave, access),
  });
  return commands;
}

/** A failed hand-over's problem also tells whether the message went out. */
function withMessage(error: TransferError, message: MessageOutcome | undefined): TransferError {
  if (!message) return error;
  return new TransferError(error.code, { ...error.details, message });
}
