import type { MethodContext, MethodResult } from "./methods.ts";
import { intval, isGiven, isYes, type Params, upperCaseKeys } from "./php-values.ts";
import type { BotSeed, PortalState, TransferTarget } from "./portal-state.ts";
import { methodError } from "./rest-errors.ts";

/** A transfer that really happened. */
export interface TransferRecord {
  chatId: number;
  to: TransferTarget;
  leave: boolean;
  botId: number;
  /** `now()` of the simulator when it happened (epoch ms unless a clock was injected). */
  at: number;
}

const WRONG_TARGET = "Incorrect user identifier specified or this user is a chatbot or extranet user";

/**
 * imopenlines.bot.session.transfer. Parameters (names case-insensitive, numbers as numbers or strings):
 * CHAT_ID; one destination of USER_ID > QUEUE_ID > TRANSFER_ID (a user id or `queue<ID>`); LEAVE Y/N;
 * BOT_ID and/or CLIENT_ID to pick the acting bot (without both, the portal's first bot acts).
 * Checks, in order: CHAT_ID_EMPTY; USER_ID_EMPTY / QUEUE_ID_EMPTY / TRANSFER_ID_EMPTY; BOT_ID_ERROR;
 * WRONG_CHAT (unknown chat, or the bot is not in it); the target: WRONG_CHAT for a bot or extranet user,
 * OPERATOR_WRONG for an unknown or inactive user, an unknown or inactive open line.
 */
export function transferMethod(rawParams: Params, context: MethodContext): MethodResult {
  const params = upperCaseKeys(rawParams);
  const chatId = intval(params.CHAT_ID);
  if (chatId <= 0) throw methodError("CHAT_ID_EMPTY", "Chat identifier not provided");

  const target = readTarget(params);
  const bot = findActingBot(params, context.portal);

  const chat = context.portal.chat(chatId);
  if (!chat) throw methodError("WRONG_CHAT", "Incorrect chat identifier");
  if (!chat.botIds.includes(bot.id)) throw methodError("WRONG_CHAT", "The chat bot is not in this chat");
  checkTarget(target, context.portal);

  const leave = isYes(params.LEAVE);
  context.portal.applyTransfer(chatId, bot.id, target, leave);
  context.recordTransfer({ chatId, to: target, leave, botId: bot.id, at: context.now() });
  return { result: true };
}

function readTarget(params: Params): TransferTarget {
  if (isGiven(params.USER_ID)) {
    const userId = intval(params.USER_ID);
    if (userId <= 0) {
      throw methodError(
        "USER_ID_EMPTY",
        "User identifier to whom the conversation needs to be redirected not provided",
      );
    }
    return { userId };
  }
  if (isGiven(params.QUEUE_ID)) {
    const queueId = intval(params.QUEUE_ID);
    if (queueId <= 0) throw methodError("QUEUE_ID_EMPTY", "Open line identifier not provided");
    return { queueId };
  }
  const transferId = isGiven(params.TRANSFER_ID) ? String(params.TRANSFER_ID).trim() : "";
  if (transferId === "") throw methodError("TRANSFER_ID_EMPTY", "Transfer destination not provided");
  const queue = /^queue(\d+)$/i.exec(transferId);
  if (queue?.[1] !== undefined) return { queueId: Number(queue[1]) };
  if (/^\d+$/.test(transferId) && Number(transferId) > 0) return { userId: Number(transferId) };
  throw methodError("OPERATOR_WRONG", "You can not redirect to this operator");
}

function findActingBot(params: Params, portal: PortalState): BotSeed {
  const botId = isGiven(params.BOT_ID) ? intval(params.BOT_ID) : undefined;
  const clientId = isGiven(params.CLIENT_ID) ? String(params.CLIENT_ID) : undefined;
  let bot: BotSeed | undefined;
  if (botId !== undefined) bot = portal.bot(botId);
  else if (clientId !== undefined) bot = portal.bots().find((candidate) => candidate.clientId === clientId);
  else bot = portal.bots()[0];
  if (!bot || (clientId !== undefined && bot.clientId !== clientId)) {
    throw methodError("BOT_ID_ERROR", "Incorrect chatbot identifier");
  }
  return bot;
}

function checkTarget(target: TransferTarget, portal: PortalState): void {
  if ("queueId" in target) {
    if (!portal.line(target.queueId)?.active) {
      throw methodError("OPERATOR_WRONG", "You can not redirect to this open line");
    }
    return;
  }
  const user = portal.user(target.userId);
  if (portal.bot(target.userId) || user?.kind === "bot" || user?.kind === "extranet") {
    throw methodError("WRONG_CHAT", WRONG_TARGET);
  }
  if (!user?.active) throw methodError("OPERATOR_WRONG", "You can not redirect to this operator");
}
