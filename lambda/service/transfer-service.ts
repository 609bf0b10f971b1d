/**
 * The service the handlers call: which portal a request goes to, and its hand-over there, alone or in
 * batches. Orchestration only; Bitrix24's rules live in bitrix24/, the hand-over's in domain/.
 */
import type { ServiceConfig } from "../config.ts";
import type { ChatState } from "../domain/chat-state.ts";
import { TransferError } from "../domain/problems.ts";
import type { BatchOutcome, ItemOutcome, TransferOutcome } from "../domain/transfer-outcome.ts";
import {
  duplicateChats,
  duplicateChatsProblem,
  escapeBbcode,
  type TransferRequest,
} from "../domain/transfer-request.ts";
import { type BatchItem, batchItem, handOverBatch } from "./batch-hand-over.ts";
import { ChatReader } from "./chat-reader.ts";
import { PortalCaller } from "./portal-caller.ts";
import { handOverOne } from "./single-hand-over.ts";

export interface TransferService {
  /** Resolves the portal first, so an unknown portal fails before any secret is read. */
  portalFor(request: { portal?: string }): string;
  transfer(request: TransferRequest, deadline: number): Promise<TransferOutcome>;
  /** Bitrix24 `batch` calls per portal (50 commands each); only commands that certainly did not run go again. */
  transferBatch(requests: readonly TransferRequest[], deadline: number): Promise<BatchOutcome>;
  /** The chat as `imopenlines.dialog.get` shows it, on a portal `portalFor` resolved. */
  readChat(chatId: number, portal: string, deadline: number): Promise<{ chat: ChatState; attempts: number }>;
  /**
   * Refuses (403 PORTAL_FORBIDDEN) a request, batch or chat read naming, or defaulting to, a portal the client may
   * not use (CLIENT_PORTALS); a client without a list, or a caller without a client name (IAM, events),
   * may use every portal.
   */
  authorize(client: string | undefined, requests: readonly { portal?: string }[]): void;
  /** Reads the default portal's secret ahead of the first request; a failure is left for that request to meet. */
  prepare(): Promise<void>;
}

export function createTransferService(config: ServiceConfig): TransferService {
  const caller = new PortalCaller(config);
  const reader = new ChatReader(caller);
  const portalFor = (request: { portal?: string }) => resolvePortal(config, request);
  const written = (request: TransferRequest): TransferRequest =>
    config.messageBbcode === "escape" && request.message !== undefined
      ? { ...request, message: escapeBbcode(request.message) }
      : request;
  return {
    portalFor,
    transfer: async (request, deadline) =>
      handOverOne(caller, reader, portalFor(request), written(request), deadline),
    transferBatch: (requests, deadline) =>
      transferBatch(caller, reader, portalFor, requests.map(written), deadline),
    readChat: async (chatId, portal, deadline) => {
      const attempts = { count: 0 };
      const chat = await reader.read(portal, chatId, deadline, attempts);
      return { chat, attempts: attempts.count };
    },
    authorize: (client, requests) => {
      const allowed = client === undefined ? undefined : config.clientPortals.get(client);
      if (!allowed) return;
      const refused = requests.map(portalFor).find((portal) => !allowed.has(portal));
      if (refused !== undefined) {
        throw new TransferError("PORTAL_FORBIDDEN", {
          detail: `client "${client}" may not use portal "${refused}"`,
        });
      }
    },
    prepare: async () => {
      if (config.defaultPortal !== undefined) await caller.prepare(config.defaultPortal);
    },
  };
}

function resolvePortal(config: ServiceConfig, request: { portal?: string }): string {
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
}

async function transferBatch(
  caller: PortalCaller,
  reader: ChatReader,
  portalFor: (request: TransferRequest) => string,
  requests: readonly TransferRequest[],
  deadline: number,
): Promise<BatchOutcome> {
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
  const duplicates = duplicateChatsProblem(duplicateChats(requests, (_, index) => portals[index] as string));
  if (duplicates) throw duplicates;
  const groups = new Map<string, BatchItem[]>();
  requests.forEach((request, index) => {
    const portal = portals[index] as string;
    groups.set(portal, [...(groups.get(portal) ?? []), batchItem(index, request)]);
  });
  const outcomes: ItemOutcome[] = new Array(requests.length);
  const calls = await Promise.all(
    [...groups].map(([portal, items]) => handOverBatch(caller, reader, portal, items, outcomes, deadline)),
  );
  return {
    items: outcomes,
    attempts: calls.reduce((sum, n) => sum + n.attempts, 0),
    reads: calls.reduce((sum, n) => sum + n.reads, 0),
  };
}
