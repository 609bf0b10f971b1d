/**
 * What Bitrix24's answer to a failed call means, for a single call and for one command of a batch
 * alike: the problem to report, whether it is worth sending again, and whether the method may have run.
 */
import {
  type Bitrix24Error,
  type ProblemCode,
  TransferError,
  UNKNOWN_OUTCOME_ADVICE,
} from "../domain/problems.ts";
import { errorPolicy } from "./error-policy.ts";

export interface Refusal {
  error: TransferError;
  /** Refused before it ran, and worth another attempt. */
  retry: boolean;
  /** As a batch command, refused alone before it ran: worth sending in the batch's next round. */
  retryInBatch?: true;
  /** The method may have run. */
  outcomeUnknown: boolean;
  retryOnceAfterMs?: number;
}

/**
 * `bitrix24` has been through upstreamError (a safe code, a redacted description); undefined when the
 * answer had no error code. Batch commands have no status of their own: pass 0. A failure whose method
 * may have run is OUTCOME_UNKNOWN, except for `idempotent` (read-only) calls, which may simply be sent again.
 */
export function refusal(status: number, bitrix24: Bitrix24Error | undefined, idempotent: boolean): Refusal {
  const policy = errorPolicy(status, bitrix24?.error);
  const outcomeUnknown = policy.outcomeUnknown === true;
  const what =
    bitrix24 === undefined
      ? `Bitrix24 answered HTTP ${status} without an error code`
      : `Bitrix24 failed with ${bitrix24.error}`;
  const known = {
    retry: policy.retry,
    ...(policy.retryInBatch ? { retryInBatch: true as const } : {}),
    outcomeUnknown,
    ...(policy.retryOnceAfterMs === undefined ? {} : { retryOnceAfterMs: policy.retryOnceAfterMs }),
  };
  const withBitrix24 = bitrix24 === undefined ? {} : { bitrix24 };
  if (outcomeUnknown && !idempotent) {
    const detail = `${what}; ${UNKNOWN_OUTCOME_ADVICE}`;
    return { error: new TransferError("OUTCOME_UNKNOWN", { detail, ...withBitrix24 }), ...known };
  }
  const code = policy.code === "OUTCOME_UNKNOWN" ? "UPSTREAM_ERROR" : policy.code;
  const error = new TransferError(code, {
    detail: bitrix24 === undefined ? what : describe(code, bitrix24.error),
    ...withBitrix24,
    ...(policy.retryAfter === undefined ? {} : { retryAfter: policy.retryAfter }),
  });
  return { error, ...known };
}

/** rest.php `dialogGet` answers ACCESS_ERROR for all three; Config::canJoin checks Permissions::ENTITY_JOIN / ACTION_PERFORM. */
const READ_ADVICE =
  "Bitrix24 refused to show the chat (ACCESS_ERROR): no Open Lines chat has this id, or the webhook's user may not see its line. Grant that user the Open Lines permission to join the line's dialogues (Contact Center → access permissions: \"Join other people's dialogues\", JOIN), or use a webhook of an administrator";

function describe(code: ProblemCode, error: string): string {
  const advice = refusalAdvice(error);
  if (advice !== undefined) return advice;
  switch (code) {
    case "TRANSFER_REJECTED":
      return `Bitrix24 rejected the transfer with ${error}`;
    case "PORTAL_MISCONFIGURED":
      return `Bitrix24 refused the portal's credentials with ${error}; check the webhook or application and its scopes (imopenlines, imbot)`;
    case "CHAT_NOT_READABLE":
      return READ_ADVICE;
    case "RATE_LIMITED":
      return `Bitrix24 is limiting requests for this portal (${error}); try again later`;
    default:
      return `Bitrix24 failed with ${error}`;
  }
}

/**
 * What each refusal that names a real cause means, and what fixes it: the portal's setup
 * (rest.php `resolveClientId`, im/lib/bot.php `getBotIdByAppId`) and its checks of credentials that
 * are themselves valid (rest/lib/oauth/auth.php and rest/lib/apauth/auth.php `onRestCheckAuth`).
 * A Map: the codes come from the network.
 */
export const refusalAdvice = (error: string): string | undefined => ADVICE.get(error);

const ADVICE: ReadonlyMap<string, string> = new Map([
  [
    "ACCESS_DENIED",
    "Bitrix24 refused with ACCESS_DENIED: a webhook call needs the bot's clientId (set \"clientId\" in the portal's secret to the CLIENT_ID the bot was registered with through imbot.register, or its imbot.v2 botToken), or the portal has no REST access: REST is available only with a subscription or on a commercial plan",
  ],
  [
    "BOT_ID_ERROR",
    'Bitrix24 found no chat bot for these credentials (BOT_ID_ERROR): for a webhook, "clientId" in the portal\'s secret must be the CLIENT_ID given to imbot.register (or the botToken given to imbot.v2.Bot.register) through a webhook; a bot another application created cannot be driven by a webhook; an application must register its own bot',
  ],
  [
    "insufficient_scope",
    "Bitrix24 refused with insufficient_scope: the webhook or application needs the imopenlines scope (and imbot to register the bot)",
  ],
  [
    "APPLICATION_NOT_FOUND",
    "Bitrix24 refused with APPLICATION_NOT_FOUND: the application was uninstalled or deactivated on the portal; reinstall or reactivate it and store its new tokens in the portal's secret",
  ],
  [
    "authorization_error",
    "Bitrix24 refused with authorization_error: the user the webhook or application acts as cannot be authorized on the portal (deactivated, deleted or not allowed to log in); use an active user",
  ],
  [
    "user_access_error",
    "Bitrix24 refused with user_access_error: the user the application acts as has no access to the application; grant it in the application's access settings on the portal",
  ],
  [
    "PAYMENT_REQUIRED",
    "Bitrix24 refused the application with PAYMENT_REQUIRED: its trial or paid period has expired; renew its subscription",
  ],
  [
    "invalid_client",
    "Bitrix24's OAuth server refused the application with invalid_client: the client id or secret in the portal's secret is wrong, or the application is not installed on the portal",
  ],
  [
    "invalid_scope",
    "Bitrix24's OAuth server refused the application with invalid_scope: the tokens ask for more than the scopes in the application's card; add imopenlines and imbot to the card and reinstall",
  ],
  [
    "OVERLOAD_LIMIT",
    "Bitrix24 refused with OVERLOAD_LIMIT: REST is blocked for these credentials because of overload; nothing ran. Bitrix24's support lifts the block",
  ],
  [
    "CONNECTION_ERROR",
    "Bitrix24 refused with CONNECTION_ERROR: the portal could not reach its authorization server to check the credentials; nothing ran, try again",
  ],
  [
    "OPERATION_TIME_LIMIT",
    "Bitrix24 refused with OPERATION_TIME_LIMIT: the method's operating-time budget on this portal is spent; nothing ran; try again once part of it is released (within ten minutes)",
  ],
]);
