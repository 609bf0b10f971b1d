/**
 * The service the handlers call: which portal a request goes to, and its hand-over there, alone or in
 * batches. Orchestration only; Bitrix24's rules live in bitrix24/, the hand-over's in domain/.
 */
import type { ServiceConfig } from "../config.ts";
import { TransferError } from "../domain/problems.ts";
import type { BatchOutcome, ItemOutcome, TransferOutcome } from "../domain/transfer-outcome.ts";
import {
  duplicateChats,
  duplicateChatsProblem,
  escapeBbcode,
  type TransferRequest,
} from "../domain/transfer-request.ts";
import { type BatchItem, batchItem, handOverBatch } from "./batch-hand-over.ts";
import { PortalCaller } from "./portal-caller.ts";
import { handOverOne } from "./single-hand-over.ts";

export interface TransferService {
  /** Resolves the portal first, so an unknown portal fails before any secret is read. */
  portalFor(request: TransferRequest): string;
  transfer(request: TransferRequest, deadline: number): Promise<TransferOutcome>;
  /** Bitrix24 `batch` calls per portal (50 commands each); only commands that certainly did not run go again. */
  transferBatch(requests: readonly TransferRequest[], deadline: number): Promise<BatchOutcome>;
  /**
   * Refuses (403 PORTAL_FORBIDDEN) a request or batch naming, or defaulting to, a portal the client may
   * not use (CLIENT_PORTALS); a client without a list, or a caller without a client name (IAM, events),
   * may use every portal.
   */
  authorize(client: string | undefined, requests: readonly TransferRequest[]): void;
  /** Reads the default portal's secret ahead of the first request; a failure is left for that request to meet. */
  prepare(): Promise<void>;
}

export function createTransferService(config: ServiceConfig): TransferService {
  const caller = new PortalCaller(config);
  const portalFor = (request: TransferRequest) => resolvePortal(config, request);
  const written = (request: TransferRequest): TransferRequest =>
    config.messageBbcode === "escape" && request.message !== undefined
      ? { ...request, message: escapeBbcode(request.message) }
      : request;
  return {
    portalFor,
    transfer: async (request, deadline) =>
      handOverOne(caller, portalFor(request), written(request), deadline),
    transferBatch: (requests, deadline) => transferBatch(caller, portalFor, requests.map(written), deadline),
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

function resolvePortal(config: ServiceConfig, request: TransferRequest): string {
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
  const attempts = await Promise.all(
    [...groups].map(([portal, items]) => handOverBatch(caller, portal, items, outcomes, deadline)),
  );
  return { items: outcomes, attempts: attempts.reduce((sum, n) => sum + n, 0) };
}
