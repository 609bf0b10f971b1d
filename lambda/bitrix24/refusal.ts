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
  switch (code) {
    case "TRANSFER_REJECTED":
      return `Bitrix24 rejected the transfer with ${error}`;
    case "PORTAL_MISCONFIGURED":
      return misconfigurationAdvice(error);
    case "CHAT_NOT_READABLE":
      return READ_ADVICE;
    case "RATE_LIMITED":
      return `Bitrix24 is limiting requests for this portal (${error}); try again later`;
    default:
      return `Bitrix24 failed with ${error}`;
  }
}

/** What to fix, for the refusals that a portal's setup causes (rest.php `resolveClientId`, im/lib/bot.php `getBotIdByAppId`). */
function misconfigurationAdvice(error: string): string {
  switch (error) {
    case "ACCESS_DENIED":
      return "Bitrix24 refused with ACCESS_DENIED: a webhook call needs the bot's clientId (set \"clientId\" in the portal's secret to the CLIENT_ID the bot was registered with through imbot.register, or its imbot.v2 botToken), or the portal's plan has no REST access";
    case "BOT_ID_ERROR":
      return 'Bitrix24 found no chat bot for these credentials (BOT_ID_ERROR): for a webhook, "clientId" in the portal\'s secret must be the CLIENT_ID given to imbot.register (or the botToken given to imbot.v2.Bot.register) through a webhook; a bot another application created cannot be driven by a webhook; an application must register its own bot';
    case "insufficient_scope":
      return "Bitrix24 refused with insufficient_scope: the webhook or application needs the imopenlines scope (and imbot to register the bot)";
    default:
      return `Bitrix24 refused the portal's credentials with ${error}; check the webhook or application and its scopes (imopenlines, imbot)`;
  }
}
