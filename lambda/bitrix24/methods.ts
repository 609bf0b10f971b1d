import { TransferError, UNKNOWN_OUTCOME_ADVICE } from "../domain/problems.ts";
import type { TransferTarget } from "../domain/transfer-request.ts";
import { errorPolicy } from "./error-policy.ts";

/**
 * The Bitrix24 methods a bot hands a chat over with (imopenlines/lib/rest.php), and their parameters.
 * Parameter names are case-sensitive for the transfer (`botSessionTransfer` reads `$arParams` as given).
 */
export const TRANSFER_METHOD = "imopenlines.bot.session.transfer";
/** `botSessionOperator`: the chat goes to its own line's queue; refused (WRONG_CHAT) once it is no longer with a bot. */
export const ANY_OPERATOR_METHOD = "imopenlines.bot.session.operator";
/** `botSessionSendAutoMessage`: with NAME=DEFAULT, writes MESSAGE into the chat (chat.php `sendAutoMessage`). */
export const MESSAGE_METHOD = "imopenlines.bot.session.message.send";

/**
 * `dialogGet`: the chat as `Im\Chat::getById` → `formatChatData` shows it (keys lower-cased by the JSON
 * option), after `Chat::hasAccess` → `Config::canJoin` let the webhook's user see the line (else
 * ACCESS_ERROR). Read-only: safe to send again.
 */
export const DIALOG_GET_METHOD = "imopenlines.dialog.get";
/** `im_rest.php botList`: every bot of the portal but network bots, keyed by their user id. Read-only. */
export const BOT_LIST_METHOD = "imbot.bot.list";

/**
 * Who acts on the portal. A webhook call must name its bot's CLIENT_ID: Bitrix24 acts as the first bot
 * registered with `APP_ID = "custom" + CLIENT_ID` (rest.php `resolveClientId`, im/lib/bot.php
 * `getBotIdByAppId`). An application acts as the first bot it registered, whatever it sends, so it
 * sends none. There is no BOT_ID parameter.
 */
export interface PortalAccess {
  clientId?: string;
}

/** One Bitrix24 call: method and parameters. */
export interface MethodCall {
  method: string;
  params: Record<string, string | number>;
}

export function handOverCall(
  chatId: number,
  target: TransferTarget,
  leave: boolean,
  access: PortalAccess,
): MethodCall {
  // botSessionOperator needs no bot: it ends whatever bot session the chat has.
  if ("anyOperator" in target) return { method: ANY_OPERATOR_METHOD, params: { CHAT_ID: chatId } };
  const params: Record<string, string | number> = { CHAT_ID: chatId };
  if ("operatorId" in target) params.USER_ID = target.operatorId;
  else params.QUEUE_ID = target.queueId;
  params.LEAVE = leave ? "Y" : "N";
  if (access.clientId !== undefined) params.CLIENT_ID = access.clientId;
  return { method: TRANSFER_METHOD, params };
}

export function dialogGetCall(chatId: number): MethodCall {
  return { method: DIALOG_GET_METHOD, params: { CHAT_ID: chatId } };
}

export function botListCall(): MethodCall {
  return { method: BOT_LIST_METHOD, params: {} };
}

export function messageCall(chatId: number, message: string): MethodCall {
  return { method: MESSAGE_METHOD, params: { CHAT_ID: chatId, MESSAGE: message, NAME: "DEFAULT" } };
}

/**
 * Only `result === true` is a hand-over (or a written message); anything else must not be reported as
 * one. These methods return true or throw, so any other answer came from something between us and them:
 * the outcome is unknown.
 */
export function requireConfirmed(result: unknown, what: string): void {
  if (result !== true) {
    throw new TransferError("OUTCOME_UNKNOWN", {
      detail: `Bitrix24 did not confirm the ${what} (result was ${describe(result)}); ${UNKNOWN_OUTCOME_ADVICE}`,
    });
  }
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
