import { errorPolicy } from "./bitrix24-errors.ts";
import { TransferError } from "./problems.ts";
import type { TransferRequest, TransferTarget } from "./transfer-request.ts";

export const TRANSFER_METHOD = "imopenlines.bot.session.transfer";

/** The parts of a portal's credentials the transfer needs; the REST base stays opaque here. */
export interface PortalAccess {
  botId?: number;
  clientId?: string;
}

export interface TransferResult {
  transferred: true;
  chatId: number;
  target: TransferTarget;
  leave: boolean;
  portal: string;
}

/** Bitrix24 parameters for one transfer. The request's botId wins over the portal's configured bot. */
export function transferParams(
  request: TransferRequest,
  access: PortalAccess,
): Record<string, string | number> {
  const params: Record<string, string | number> = { CHAT_ID: request.chatId };
  if ("operatorId" in request.target) params.USER_ID = request.target.operatorId;
  else params.QUEUE_ID = request.target.queueId;
  params.LEAVE = request.leave ? "Y" : "N";
  const botId = request.botId ?? access.botId;
  if (botId !== undefined) params.BOT_ID = botId;
  if (access.clientId !== undefined) params.CLIENT_ID = access.clientId;
  return params;
}

/** Only `result === true` is a transfer; anything else must not be reported as one. */
export function confirmTransfer(result: unknown, request: TransferRequest, portal: string): TransferResult {
  if (result !== true) {
    throw new TransferError("UPSTREAM_ERROR", {
      detail: `Bitrix24 did not confirm the transfer (result was ${describe(result)})`,
    });
  }
  return { transferred: true, chatId: request.chatId, target: request.target, leave: request.leave, portal };
}

/** True when re-reading the portal's secret might fix the error (a rotated webhook). */
export function isCredentialsError(error: unknown): boolean {
  if (!(error instanceof TransferError) || !error.details.bitrix24) return false;
  return errorPolicy(0, error.details.bitrix24.error).credentials === true;
}

function describe(value: unknown): string {
  if (value === undefined) return "missing";
  // A string is Bitrix24's text and may quote what we sent it (the webhook code, a token).
  if (typeof value === "string") return "a string";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  return Array.isArray(value) ? "an array" : "an object";
}
