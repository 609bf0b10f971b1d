import type { AppSeed } from "./oauth-server.ts";

/**
 * What the simulated portal knows: webhooks, users, chat bots, open lines and Open Lines chats.
 * The seed is copied, never mutated; `restoreChats()` brings the chats back to it.
 */

export interface WebhookSeed {
  /** The user who created the webhook: the first segment of /rest/<userId>/<code>/. */
  userId: number;
  code: string;
  scopes: readonly string[];
}

/** A "connector" is the external client's user (Telegram, live chat…): a chat member, never an operator. */
export type UserKind = "employee" | "extranet" | "bot" | "connector";

export interface UserSeed {
  id: number;
  name: string;
  kind: UserKind;
  /** An inactive (dismissed) employee cannot receive a dialogue. */
  active: boolean;
}

export interface BotSeed {
  /** Bitrix24 bot ids are user ids: the bot is also a user of kind "bot". */
  id: number;
  /**
   * The bot's APP_ID (im/lib/bot.php): "custom" + the CLIENT_ID given to imbot.register through a
   * webhook, or the client id of the OAuth application that registered it.
   */
  appId: string;
  code: string;
}

export interface OpenLineSeed {
  /** The ID from imopenlines.config.list.get, which QUEUE_ID and `queue<ID>` refer to. */
  id: number;
  name: string;
  active: boolean;
  /** User ids of the line's operators. */
  queue: readonly number[];
}

export interface ChatSeed {
  id: number;
  /** The open line the dialogue is on. */
  lineId: number;
  /** Chat bots currently in the chat. */
  botIds: readonly number[];
  /** The operator holding the dialogue, if any. */
  operatorId?: number;
  /** Whether the chat has an open dialogue (session); default true. A closed one cannot be transferred. */
  open?: boolean;
}

export interface PortalSeed {
  webhooks: readonly WebhookSeed[];
  /** OAuth applications installed on the portal (their tokens live in the simulator's OAuth server). */
  apps?: readonly AppSeed[];
  users: readonly UserSeed[];
  bots: readonly BotSeed[];
  lines: readonly OpenLineSeed[];
  chats: readonly ChatSeed[];
}

/** A chat as it is now (after the transfers so far). */
export interface ChatSnapshot {
  id: number;
  lineId: number;
  botIds: number[];
  operatorId: number | null;
  /** An open dialogue (session) exists. */
  open: boolean;
  /** Waiting in its line's queue for distribution to an operator (after a queue transfer or session.operator). */
  distributing: boolean;
}

export type TransferTarget = { userId: number } | { queueId: number };

export class PortalState {
  readonly #seed: PortalSeed;
  readonly #webhooks = new Map<string, WebhookSeed>();
  readonly #users = new Map<number, UserSeed>();
  readonly #bots = new Map<number, BotSeed>();
  readonly #lines = new Map<number, OpenLineSeed>();
  readonly #chats = new Map<number, ChatSnapshot>();
  /** Chat id → how many more transfer attempts find the chat's distribution lock held. */
  readonly #locks = new Map<number, number>();

  constructor(seed: PortalSeed) {
    this.#seed = structuredClone(seed);
    for (const webhook of this.#seed.webhooks) this.addWebhook(webhook);
    for (const user of this.#seed.users) this.#users.set(user.id, user);
    for (const bot of this.#seed.bots) this.#bots.set(bot.id, bot);
    for (const line of this.#seed.lines) this.#lines.set(line.id, line);
    this.restoreChats();
  }

  /** The webhook the simulator's URLs default to: the first one seeded. */
  get defaultWebhook(): WebhookSeed | undefined {
    return this.#seed.webhooks[0];
  }

  /** An active webhook with exactly this user id and code. */
  findWebhook(userId: string, code: string): WebhookSeed | undefined {
    const webhook = this.#webhooks.get(code);
    return webhook && String(webhook.userId) === userId ? webhook : undefined;
  }

  addWebhook(webhook: WebhookSeed): void {
    if (!Number.isInteger(webhook.userId) || webhook.userId <= 0) {
      throw new RangeError("a webhook's userId must be a positive integer");
    }
    if (!/^[A-Za-z0-9_-]+$/.test(webhook.code)) {
      throw new RangeError("a webhook code must be non-empty and URL-safe ([A-Za-z0-9_-])");
    }
    this.#webhooks.set(webhook.code, {
      userId: webhook.userId,
      code: webhook.code,
      scopes: [...webhook.scopes],
    });
  }

  revokeWebhook(code: string): void {
    this.#webhooks.delete(code);
  }

  user(id: number): UserSeed | undefined {
    return this.#users.get(id);
  }

  bot(id: number): BotSeed | undefined {
    return this.#bots.get(id);
  }

  bots(): BotSeed[] {
    return [...this.#bots.values()];
  }

  line(id: number): OpenLineSeed | undefined {
    return this.#lines.get(id);
  }

  lines(): OpenLineSeed[] {
    return [...this.#lines.values()];
  }

  chat(id: number): ChatSnapshot | undefined {
    const chat = this.#chats.get(id);
    return chat && { ...chat, botIds: [...chat.botIds] };
  }

  /**
   * Moves the dialogue (imopenlines/lib/chat.php Chat::transfer). To a user: the user holds it. To a
   * queue (Chat::transferToQueue): every member except connectors and the sending bot is removed, and
   * the chat goes back into distribution on that line. With `leave` the sending bot leaves at once.
   */
  applyTransfer(chatId: number, botId: number, target: TransferTarget, leave: boolean): void {
    const chat = this.#mutableChat(chatId);
    if ("userId" in target) {
      chat.operatorId = target.userId;
      chat.distributing = false;
    } else {
      chat.lineId = target.queueId;
      chat.operatorId = null;
      chat.botIds = chat.botIds.filter((id) => id === botId);
      chat.distributing = true;
    }
    if (leave) chat.botIds = chat.botIds.filter((id) => id !== botId);
  }

  /** Chat::endBotSession: the bots leave and the chat goes to its own line's queue. */
  endBotSession(chatId: number): void {
    const chat = this.#mutableChat(chatId);
    chat.botIds = [];
    chat.operatorId = null;
    chat.distributing = true;
  }

  /** The next `times` transfer attempts on the chat find its lock held (Tools\Lock in Chat::transfer). */
  holdLock(chatId: number, times: number): void {
    this.#locks.set(chatId, (this.#locks.get(chatId) ?? 0) + times);
  }

  /** True (and one use consumed) when the chat's lock is held for this attempt. */
  takeLock(chatId: number): boolean {
    const remaining = this.#locks.get(chatId) ?? 0;
    if (remaining <= 0) return false;
    if (remaining === 1) this.#locks.delete(chatId);
    else this.#locks.set(chatId, remaining - 1);
    return true;
  }

  #mutableChat(chatId: number): ChatSnapshot {
    const chat = this.#chats.get(chatId);
    if (!chat) throw new Error(`no chat ${chatId}`);
    return chat;
  }

  /** Undoes all transfers: chats as seeded. Webhooks stay as they are. */
  restoreChats(): void {
    this.#chats.clear();
    this.#locks.clear();
    for (const chat of this.#seed.chats) {
      this.#chats.set(chat.id, {
        id: chat.id,
        lineId: chat.lineId,
        botIds: [...chat.botIds],
        operatorId: chat.operatorId ?? null,
        open: chat.open ?? true,
        distributing: false,
      });
    }
  }
}
