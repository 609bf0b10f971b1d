/**
 * Reads chats with `imopenlines.dialog.get`: one with a call of its own, many in `batch` calls of at most
 * 50. Whether an owner is a bot needs the portal's bots (`imbot.bot.list`), asked only when a read names
 * an owner and the container's copy of that list is older than a few minutes.
 */
import { batchCommands, packBatches, readBatchValues } from "../bitrix24/batch.ts";
import { botListCall, dialogGetCall } from "../bitrix24/methods.ts";
import { type ChatState, chatState, type DialogRead, parseDialog } from "../domain/chat-state.ts";
import { isRecord } from "../domain/is-record.ts";
import { TransferError } from "../domain/problems.ts";
import type { PortalCaller } from "./portal-caller.ts";

/** How long a container trusts the portal's list of bots: a bot registered since is taken for a person (a refusal, never a wrong transfer). */
const BOTS_TTL_MS = 5 * 60 * 1000;

export type ChatRead = { ok: true; chat: ChatState } | { ok: false; error: TransferError };

export class ChatReader {
  readonly #caller: PortalCaller;
  readonly #bots = new Map<string, { ids: ReadonlySet<number>; until: number }>();
  readonly #now: () => number;

  constructor(caller: PortalCaller, now: () => number = Date.now) {
    this.#caller = caller;
    this.#now = now;
  }

  /** One chat; a failed read throws its problem. `attempts` counts the Bitrix24 calls made. */
  async read(
    portal: string,
    chatId: number,
    deadline: number,
    attempts: { count: number },
  ): Promise<ChatState> {
    const outcome = await this.#call(portal, () => dialogGetCall(chatId), deadline, attempts);
    const read = requireDialog(outcome, chatId);
    const [state] = await this.#classify(portal, [read], deadline, attempts);
    return state as ChatState;
  }

  /** Many chats of one portal, in `batch` calls of at most 50 reads; each read's failure stays its own. */
  async readMany(
    portal: string,
    chatIds: readonly number[],
    deadline: number,
    attempts: { count: number },
  ): Promise<Map<number, ChatRead>> {
    const reads = new Map<number, DialogRead | TransferError>();
    const groups = chatIds.map((chatId) => ({
      chatId,
      commands: [{ key: `r${chatId}`, call: dialogGetCall(chatId) }],
    }));
    for (const batch of packBatches(groups)) {
      const commands = batch.flatMap((group) => group.commands);
      try {
        const answer = await this.#caller.call(
          portal,
          () => ({ method: "batch", params: { halt: 0, cmd: batchCommands(commands) } }),
          deadline,
          true,
        );
        attempts.count += answer.attempts;
        const values = readBatchValues(
          answer.result,
          commands.map((command) => command.key),
          answer.secrets,
        );
        for (const { chatId } of batch) {
          const value = values.get(`r${chatId}`);
          reads.set(
            chatId,
            value?.ok ? requireDialogOrError(value.result, chatId) : (value?.error as TransferError),
          );
        }
      } catch (error) {
        if (!(error instanceof TransferError)) throw error;
        attempts.count += error.details.attempts ?? 0;
        for (const { chatId } of batch) reads.set(chatId, error);
      }
    }
    return this.#classifyMany(portal, reads, deadline, attempts);
  }

  async #classifyMany(
    portal: string,
    reads: Map<number, DialogRead | TransferError>,
    deadline: number,
    attempts: { count: number },
  ): Promise<Map<number, ChatRead>> {
    const readable = [...reads.values()].filter(
      (read): read is DialogRead => !(read instanceof TransferError),
    );
    const result = new Map<number, ChatRead>();
    let states: ChatState[];
    try {
      states = await this.#classify(portal, readable, deadline, attempts);
    } catch (error) {
      if (!(error instanceof TransferError)) throw error;
      for (const chatId of reads.keys()) result.set(chatId, { ok: false, error });
      return result;
    }
    for (const [chatId, read] of reads) {
      if (read instanceof TransferError) result.set(chatId, { ok: false, error: read });
    }
    for (const chat of states) result.set(chat.chatId, { ok: true, chat });
    return result;
  }

  /** Names each owner: a bot or a person. The bot list is asked only for owners it does not yet hold. */
  async #classify(
    portal: string,
    reads: readonly DialogRead[],
    deadline: number,
    attempts: { count: number },
  ): Promise<ChatState[]> {
    let bots = this.#cachedBots(portal);
    if (bots === undefined && reads.some((read) => read.ownerId > 0)) {
      bots = await this.#fetchBots(portal, deadline, attempts);
    }
    return reads.map((read) => chatState(read, (userId) => bots?.has(userId) === true));
  }

  #cachedBots(portal: string): ReadonlySet<number> | undefined {
    const cached = this.#bots.get(portal);
    return cached && cached.until > this.#now() ? cached.ids : undefined;
  }

  async #fetchBots(
    portal: string,
    deadline: number,
    attempts: { count: number },
  ): Promise<ReadonlySet<number>> {
    const outcome = await this.#call(portal, () => botListCall(), deadline, attempts);
    // botList answers {"<id>": {"ID": <id>, …}}; PHP turns an empty array into [].
    const list = isRecord(outcome) ? Object.values(outcome) : Array.isArray(outcome) ? outcome : undefined;
    if (!list)
      throw new TransferError("UPSTREAM_ERROR", {
        detail: "Bitrix24 answered imbot.bot.list with no list of bots",
      });
    const ids = new Set(
      list.flatMap((bot) => (isRecord(bot) && Number.isSafeInteger(Number(bot.ID)) ? [Number(bot.ID)] : [])),
    );
    this.#bots.set(portal, { ids, until: this.#now() + BOTS_TTL_MS });
    return ids;
  }

  async #call(
    portal: string,
    make: () => { method: string; params: Record<string, unknown> },
    deadline: number,
    attempts: { count: number },
  ): Promise<unknown> {
    try {
      const outcome = await this.#caller.call(portal, make, deadline, true);
      attempts.count += outcome.attempts;
      return outcome.result;
    } catch (error) {
      if (error instanceof TransferError) attempts.count += error.details.attempts ?? 0;
      throw error;
    }
  }
}

function requireDialog(answer: unknown, chatId: number): DialogRead {
  const read = requireDialogOrError(answer, chatId);
  if (read instanceof TransferError) throw read;
  return read;
}

function requireDialogOrError(answer: unknown, chatId: number): DialogRead | TransferError {
  return (
    parseDialog(answer, chatId) ??
    new TransferError("UPSTREAM_ERROR", {
      detail: `Bitrix24 answered imopenlines.dialog.get for chat ${chatId} with no owner: the chat's state cannot be read`,
    })
  );
}
