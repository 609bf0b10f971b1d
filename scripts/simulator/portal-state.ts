import type { AppSeed } from "./oauth-server.ts";
import { type ChatSnapshot, OpenLinesChats } from "./open-lines-chats.ts";
import type { ChatSeed, OpenLineSeed, UserSeed } from "./seed-types.ts";

export type { ChatSnapshot, TransferTarget } from "./open-lines-chats.ts";
export type { ChatSeed, ChatStage, OpenLineSeed, UserKind, UserSeed, WelcomeBotSeed } from "./seed-types.ts";

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

export interface PortalSeed {
  webhooks: readonly WebhookSeed[];
  /** OAuth applications installed on the portal (their tokens live in the simulator's OAuth server). */
  apps?: readonly AppSeed[];
  users: readonly UserSeed[];
  bots: readonly BotSeed[];
  lines: readonly OpenLineSeed[];
  chats: readonly ChatSeed[];
}

export class PortalState {
  readonly #seed: PortalSeed;
  readonly #webhooks = new Map<string, WebhookSeed>();
  readonly #users = new Map<number, UserSeed>();
  readonly #bots = new Map<number, BotSeed>();
  readonly #lines = new Map<number, OpenLineSeed>();
  readonly #chats: OpenLinesChats;
  /** Chat id → how many more transfer attempts find the chat's distribution lock held. */
  readonly #locks = new Map<number, number>();

  constructor(seed: PortalSeed, now: () => number = Date.now) {
    this.#seed = structuredClone(seed);
    for (const webhook of this.#seed.webhooks) this.addWebhook(webhook);
    for (const user of this.#seed.users) this.#users.set(user.id, user);
    for (const bot of this.#seed.bots) this.#bots.set(bot.id, bot);
    for (const line of this.#seed.lines) this.#lines.set(line.id, line);
    this.#chats = new OpenLinesChats(
      { user: (id) => this.#users.get(id), line: (id) => this.#lines.get(id) },
      this.#seed.chats,
      now,
    );
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
    return this.#chats.snapshot(id);
  }

  /** The Open Lines chats and the module operations on them (open-lines-chats.ts). */
  get chats(): OpenLinesChats {
    return this.#chats;
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

  /** Undoes all transfers: chats as seeded, no locks. Webhooks stay as they are. */
  restoreChats(): void {
    this.#chats.restore();
    this.#locks.clear();
  }
}
