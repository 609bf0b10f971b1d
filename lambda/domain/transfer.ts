import { errorPolicy } from "./bitrix24-errors.ts";
import { TransferError, UNKNOWN_OUTCOME_ADVICE } from "./problems.ts";
import type { TransferRequest, TransferTarget } from "./transfer-request.ts";

export const TRANSFER_METHOD = "imopenlines.bot.session.transfer";

/**
 * Who acts on the portal. A webhook call must name its bot's CLIENT_ID: Bitrix24 acts as the first bot
 * registered with `APP_ID = "custom" + CLIENT_ID` (rest.php `resolveClientId`, im/lib/bot.php
 * `getBotIdByAppId`). An application acts as the first bot it registered, whatever it sends, so it
 * sends none. There is no BOT_ID parameter.
 */
export interface PortalAccess {
  clientId?: string;
}

export interface TransferResult {
  transferred: true;
  chatId: number;
  target: TransferTarget;
  leave: boolean;
  portal: string;
}

/** Bitrix24 parameters for one transfer (rest.php `botSessionTransfer`; names are case-sensitive). */
export function transferParams(
  request: TransferRequest,
  access: PortalAccess,
): Record<string, string | number> {
  const params: Record<string, string | number> = { CHAT_ID: request.chatId };
  if ("operatorId" in request.target) params.USER_ID = request.target.operatorId;
  else params.QUEUE_ID = request.target.queueId;
  params.LEAVE = request.leave ? "Y" : "N";
  if (access.clientId !== undefined) params.CLIENT_ID = access.clientId;
  return params;
}

/**
 * Only `result === true` is a transfer; anything else must not be reported as one. botSessionTransfer
 * returns true or throws, so any other answer came from something between us and it: the outcome is unknown.
 */
export function confirmTransfer(result: unknown, request: TransferRequest, portal: string): TransferResult {
  if (result !== true) {
    throw new TransferError("OUTCOME_UNKNOWN", {
      detail: `Bitrix24 did not confirm the transfer (result was ${describe(result)}); ${UNKNOWN_OUTCOME_ADVICE}`,
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
  if (value === null || typeof value !== "object") return JSON.stringify(value).slice(0, 40);
  return Array.isArray(value) ? "an array" : "an object";
}
