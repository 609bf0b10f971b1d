import type { ChatSeed, ChatStage, OpenLineSeed, UserSeed } from "./seed-types.ts";

/**
 * Open Lines chats as the imopenlines module changes them (imopenlines/lib/chat.php, session.php,
 * queue/queue.php). Each operation names the module function it follows. Not simulated: the queue's
 * own distribution to operators (Queue::transferToNext, which transferToQueue and endBotSession run and
 * which picks by operator availability: tests make its offer with `offer()`; dialog.get cannot see it,
 * since the owner stays 0), fake relations (imopenlines/lib/relation.php: operators who see a chat
 * without being members) and messages other than message.send's.
 */

/** What the chat model needs to know about users and lines. */
export interface Directory {
  user(id: number): UserSeed | undefined;
  line(id: number): OpenLineSeed | undefined;
}

/** A chat as it is now. */
export interface ChatSnapshot {
  id: number;
  /** The line whose queue the dialogue is on (the session's CONFIG_ID; the last one when closed). */
  lineId: number;
  stage: ChatStage;
  /** The open session's id (LINES_SESSION's SESSION_ID); 0 when closed (Chat::close). */
  sessionId: number;
  /** The chat's AUTHOR_ID, which imopenlines.dialog.get shows as `owner`. */
  ownerId: number;
  /** The session's OPERATOR_ID: a bot during its session, an offered or answering user, else 0. */
  sessionOperatorId: number;
  /** Bots that are members of the chat. */
  botIds: number[];
  /** Employees (and other non-bot, non-connector users) that are members of the chat. */
  userIds: number[];
}

interface Session {
  id: number;
  /** CONFIG_ID: the line whose queue and settings apply. */
  lineId: number;
  /** STATUS >= Session::STATUS_ANSWER. */
  answered: boolean;
  /** OPERATOR_ID (0: none). */
  operatorId: number;
}

interface ChatState {
  id: number;
  /** ENTITY_ID: `connector|LINE|externalChat|clientUser`; its line never changes. */
  userCode: string;
  entityLineId: number;
  /** LINES_SESSION field (Chat::getFieldData): session id, line id, date created. */
  field: { sessionId: number; lineId: number; dateCreate: number };
  session: Session | null;
  ownerId: number;
  /** Member user ids in the order they joined (the client's connector user is not kept). */
  members: number[];
  crm?: { entityType: string; entityId: number };
  dateCreate: number;
}

export type TransferTarget = { userId: number } | { queueId: number };

/** A hand-over that ran: the session it moved and whether loading it opened a new one. */
export interface HandOverOutcome {
  sessionId: number;
  /** Session::load without SKIP_CREATE found the dialogue closed and opened a new one. */
  reopened: boolean;
}

/** The connector user standing for the customer in every seeded chat. */
const CLIENT_USER_ID = 30;

export class OpenLinesChats {
  readonly #directory: Directory;
  readonly #seeds: readonly ChatSeed[];
  readonly #now: () => number;
  readonly #chats = new Map<number, ChatState>();
  /** Every session id ever opened → its chat (Chat::getChatIdBySession reads closed ones too). */
  readonly #sessionChats = new Map<number, number>();
  #nextSessionId = 0;

  constructor(directory: Directory, seeds: readonly ChatSeed[], now: () => number) {
    this.#directory = directory;
    this.#seeds = seeds;
    this.#now = now;
    this.restore();
  }

  /** The chats as seeded. */
  restore(): void {
    this.#chats.clear();
    this.#sessionChats.clear();
    const created = Math.floor(this.#now() / 1000);
    let highest = 0;
    for (const seed of this.#seeds) {
      const chat = this.#fromSeed(seed, created);
      this.#chats.set(seed.id, chat);
      highest = Math.max(highest, chat.field.sessionId);
      if (chat.field.sessionId > 0) this.#sessionChats.set(chat.field.sessionId, chat.id);
    }
    this.#nextSessionId = highest + 1;
  }

  #fromSeed(seed: ChatSeed, created: number): ChatState {
    const botIds = [...(seed.botIds ?? [])];
    const stage = seed.stage ?? (seed.operatorId ? "answered" : botIds.length > 0 ? "bot" : "queue");
    const sessionId = stage === "closed" ? 0 : (seed.sessionId ?? seed.id * 10);
    const operatorId = seed.operatorId ?? 0;
    const sessionOperator = stage === "bot" ? (this.#welcomeBot(seed.lineId) ?? botIds[0] ?? 0) : operatorId;
    const chat: ChatState = {
      id: seed.id,
      userCode: `livechat|${seed.lineId}|${seed.id}|${CLIENT_USER_ID}`,
      entityLineId: seed.lineId,
      field: { sessionId, lineId: seed.lineId, dateCreate: sessionId > 0 ? created : 0 },
      session:
        stage === "closed"
          ? null
          : {
              id: sessionId,
              lineId: seed.lineId,
              answered: stage === "answered",
              operatorId: sessionOperator,
            },
      ownerId: stage === "answered" ? operatorId : 0,
      members: stage === "closed" ? [] : [...botIds],
      dateCreate: created,
    };
    if (stage === "answered" && operatorId > 0) chat.members.push(operatorId);
    if (seed.crm) chat.crm = { ...seed.crm };
    return chat;
  }

  has(chatId: number): boolean {
    return this.#chats.has(chatId);
  }

  snapshot(chatId: number): ChatSnapshot | undefined {
    const chat = this.#chats.get(chatId);
    if (!chat) return undefined;
    return {
      id: chat.id,
      lineId: chat.session?.lineId ?? chat.field.lineId,
      stage: this.#stage(chat),
      sessionId: chat.session?.id ?? 0,
      ownerId: chat.ownerId,
      sessionOperatorId: chat.session?.operatorId ?? 0,
      botIds: chat.members.filter((id) => this.#isBot(id)),
      userIds: chat.members.filter((id) => !this.#isBot(id)),
    };
  }

  #stage(chat: ChatState): ChatStage {
    const session = chat.session;
    if (!session) return "closed";
    if (session.answered) return "answered";
    if (session.operatorId === 0) return "queue";
    return this.#isBot(session.operatorId) ? "bot" : "offered";
  }

  /**
   * Chat::transfer (imopenlines/lib/chat.php) in TRANSFER_MODE_BOT, as rest.php botSessionTransfer
   * calls it. `false` when the module's transfer returns false. Nothing here checks who holds the chat.
   */
  transfer(chatId: number, fromId: number, target: TransferTarget, leave: boolean): HandOverOutcome | false {
    const chat = this.#chats.get(chatId);
    // Chat::__construct loads only an existing Open Lines chat (isDataLoaded).
    if (!chat) return false;
    const { session, reopened } = this.#loadSession(chat);
    if ("queueId" in target) {
      if (!this.#transferToQueue(chat, session, fromId, target.queueId)) return false;
    } else {
      // Chat::transfer: `User::getInstance($params['TO'])->isActive()`; an unknown user is not active.
      const user = this.#directory.user(target.userId);
      if (!user?.active || !this.#transferToOperator(chat, session, fromId, user, leave)) return false;
    }
    return { sessionId: session.id, reopened };
  }

  /**
   * Chat::transferToQueue: only `ConfigTable::getById` must find the line (an inactive one is accepted).
   * LEAVE is never read: every member except the sending bot (and the client) is removed, the owner
   * becomes 0, LINES_SESSION gets the target line, the session moves to that line below "answered"
   * (Queue::prepareToQueue sets STATUS_SKIP) and waits for distribution.
   */
  #transferToQueue(chat: ChatState, session: Session, fromId: number, queueId: number): boolean {
    if (!this.#directory.line(queueId)) return false;
    session.operatorId = 0;
    chat.ownerId = 0;
    chat.field.lineId = queueId;
    chat.field.sessionId = session.id;
    chat.members = chat.members.filter((id) => id === fromId && this.#isBot(id));
    session.lineId = queueId;
    session.answered = false;
    return true;
  }

  /**
   * Chat::transferToOperator in TRANSFER_MODE_BOT. Refuses bots, extranet users and connectors. Below
   * "answered" no member is removed (only fake relations) and LEAVE=Y removes the sending bot only when
   * it is the line's welcome bot with WELCOME_BOT_LEFT=queue; once answered, every other person is
   * removed and LEAVE=Y removes the sending bot. The owner becomes 0 on an active line (the target on
   * an inactive one), the target joins, the session is marked answered and Chat::answer runs for the
   * target at once: there is no pending offer for a bot's transfer (Chat::waitAnswer has no caller).
   */
  #transferToOperator(
    chat: ChatState,
    session: Session,
    fromId: number,
    to: UserSeed,
    leave: boolean,
  ): boolean {
    if (to.kind !== "employee") return false;
    const below = !session.answered;
    if (!below) chat.members = chat.members.filter((id) => id === fromId || this.#isBot(id));
    if (leave && (!below || this.#botLeavesOn(session, fromId, "queue"))) {
      chat.members = chat.members.filter((id) => id !== fromId);
    }
    const lineActive = this.#directory.line(session.lineId)?.active === true;
    chat.field.sessionId = session.id;
    chat.ownerId = lineActive ? 0 : to.id;
    this.#join(chat, to.id);
    session.answered = true;
    // Chat::answer refuses a user who already is the owner (IMOL_CHAT_ERROR_ANSWER_ALREADY_RESPONSIBLE).
    if (chat.ownerId !== to.id) this.#answer(chat, session, to.id);
    return true;
  }

  /**
   * Chat::answer: the user joins, Session::answer makes them the session's operator, every other
   * person and the line's welcome bot (when WELCOME_BOT_LEFT=queue, whatever LEAVE said) leave, and the
   * chat's AUTHOR_ID becomes the user.
   */
  #answer(chat: ChatState, session: Session, userId: number): void {
    this.#join(chat, userId);
    session.answered = true;
    session.operatorId = userId;
    chat.members = chat.members.filter(
      (id) => id === userId || (this.#isBot(id) && !this.#botLeavesOn(session, id, "queue")),
    );
    chat.ownerId = userId;
  }

  /**
   * Chat::endBotSession (imopenlines.bot.session.operator): the session is loaded WITHOUT SKIP_CREATE
   * (a closed dialogue is reopened first) and handed over only while its operator is a bot; the bot
   * leaves unless WELCOME_BOT_LEFT=close (then it stays and the owner becomes 0), and the session goes
   * to its line's queue (STATUS_SKIP, transferToNextInQueue).
   */
  endBotSession(
    chatId: number,
  ): (HandOverOutcome & { botId: number; lineId: number; botLeft: boolean }) | false {
    const chat = this.#chats.get(chatId);
    if (!chat) return false;
    const { session, reopened } = this.#loadSession(chat);
    const botId = session.operatorId;
    if (!(botId > 0 && this.#isBot(botId))) return false;
    // WELCOME_BOT_LEFT is the line's setting, read whichever bot holds the session.
    const botLeft = this.#directory.line(session.lineId)?.welcomeBot?.left !== "close";
    if (botLeft) chat.members = chat.members.filter((id) => id !== botId);
    else chat.ownerId = 0;
    session.answered = false;
    session.operatorId = 0;
    return { sessionId: session.id, reopened, botId, lineId: session.lineId, botLeft };
  }

  /**
   * Chat::sendAutoMessage: nothing for a falsy NAME (`!$type`); an unknown chat writes nothing; else
   * the session is loaded WITHOUT SKIP_CREATE (a closed dialogue is reopened) and NAME == 'WELCOME'
   * writes the line's greeting (AutomaticAction\Welcome::sendMessage, only with WELCOME_MESSAGE=Y),
   * NAME == 'DEFAULT' writes MESSAGE when it is not empty; any other NAME writes nothing.
   * Returns the text written, if any.
   */
  sendAutoMessage(chatId: number, isName: (name: string) => boolean, message: string): string | undefined {
    const chat = this.#chats.get(chatId);
    if (!chat) return undefined;
    const { session } = this.#loadSession(chat);
    if (isName("WELCOME")) return this.#directory.line(session.lineId)?.greeting;
    if (isName("DEFAULT") && message !== "") return message;
    return undefined;
  }

  /** Chat::answer by an operator (for tests): `false` when the module refuses (owner already, closed). */
  answer(chatId: number, userId: number): boolean {
    const chat = this.#chats.get(chatId);
    // Chat::answer loads the session WITH SKIP_CREATE: no dialogue, no answer.
    if (!chat?.session || chat.ownerId === userId) return false;
    this.#answer(chat, chat.session, userId);
    return true;
  }

  /**
   * The queue offers the chat to an operator (for tests): Queue::transferToNext → Chat::transfer in
   * TRANSFER_MODE_AUTO → transferToOperator: the session's operator is the user, awaiting an answer;
   * below "answered" the user gets only a fake relation (not a member); the owner stays 0 on an active
   * line and becomes the user on an inactive one.
   */
  offer(chatId: number, userId: number): boolean {
    const chat = this.#chats.get(chatId);
    if (!chat?.session || chat.session.answered) return false;
    chat.session.operatorId = userId;
    chat.ownerId = this.#directory.line(chat.session.lineId)?.active === true ? 0 : userId;
    return true;
  }

  /**
   * Chat::finish → Session::finish → Chat::close: every member but the client leaves, LINES_SESSION's
   * session id becomes 0 and the owner 0. Returns false when there was no open dialogue.
   */
  finish(chatId: number): boolean {
    const chat = this.#chats.get(chatId);
    if (!chat?.session) return false;
    chat.session = null;
    chat.members = [];
    chat.field.sessionId = 0;
    chat.ownerId = 0;
    return true;
  }

  /**
   * Session::load without SKIP_CREATE (session.php start): an open session is used; a closed dialogue
   * gets a new session (createSession) on the line of the chat's user code, where queue/queue.php
   * createSession makes the welcome bot the operator (it joins) when the line is active and
   * WELCOME_BOT_JOIN is "always" (the chat is not new), and otherwise leaves it to the queue.
   */
  #loadSession(chat: ChatState): { session: Session; reopened: boolean } {
    if (chat.session) return { session: chat.session, reopened: false };
    const line = this.#directory.line(chat.entityLineId);
    const bot = line?.active && line.welcomeBot?.join === "always" ? line.welcomeBot.id : 0;
    const session: Session = {
      id: this.#nextSessionId++,
      lineId: chat.entityLineId,
      answered: false,
      operatorId: bot,
    };
    if (bot > 0) this.#join(chat, bot);
    chat.session = session;
    chat.field.sessionId = session.id;
    chat.field.dateCreate = Math.floor(this.#now() / 1000);
    this.#sessionChats.set(session.id, chat.id);
    return { session, reopened: true };
  }

  /** Whether `botId` is the session line's welcome bot with WELCOME_BOT_LEFT = `left`. */
  #botLeavesOn(session: Session, botId: number, left: "queue" | "close"): boolean {
    const bot = this.#directory.line(session.lineId)?.welcomeBot;
    return bot?.id === botId && (bot.left ?? "queue") === left;
  }

  #welcomeBot(lineId: number): number | undefined {
    return this.#directory.line(lineId)?.welcomeBot?.id;
  }

  #join(chat: ChatState, userId: number): void {
    if (!chat.members.includes(userId)) chat.members.push(userId);
  }

  #isBot(userId: number): boolean {
    return this.#directory.user(userId)?.kind === "bot";
  }

  // --- what imopenlines.dialog.get reads ---

  /** Chat::getChatIdBySession: any session ever opened, closed ones included. */
  chatIdBySession(sessionId: number): number | undefined {
    return this.#sessionChats.get(sessionId);
  }

  /** Chat::getChatIdByUserCode. */
  chatIdByUserCode(userCode: string): number | undefined {
    for (const chat of this.#chats.values()) if (chat.userCode === userCode) return chat.id;
    return undefined;
  }

  /** The raw chat row dialog.get formats (Im\Chat::getById), or undefined. */
  row(chatId: number): ChatRow | undefined {
    const chat = this.#chats.get(chatId);
    if (!chat) return undefined;
    const crm = chat.crm;
    const session = [
      crm ? "Y" : "N",
      crm?.entityType ?? "NONE",
      String(crm?.entityId ?? 0),
      "N",
      "N",
      String(chat.field.sessionId),
      String(chat.field.dateCreate),
      String(chat.field.lineId),
    ].join("|");
    return {
      id: chat.id,
      ownerId: chat.ownerId,
      userCode: chat.userCode,
      entityLineId: chat.entityLineId,
      entityData1: session,
      entityData2: crmField(crm),
      members: [CLIENT_USER_ID, ...chat.members],
      dateCreate: chat.dateCreate,
    };
  }
}

/** The parts of an im chat row that imopenlines.dialog.get shows. */
export interface ChatRow {
  id: number;
  ownerId: number;
  userCode: string;
  entityLineId: number;
  entityData1: string;
  entityData2: string;
  /** Every member in the order they joined, the client's connector user first. */
  members: number[];
  /** Unix seconds. */
  dateCreate: number;
}

/** LINES_CRM (Chat::getFieldData FIELD_CRM): `LEAD|id|COMPANY|id|CONTACT|id|DEAL|id`. */
function crmField(crm: ChatState["crm"]): string {
  return ["LEAD", "COMPANY", "CONTACT", "DEAL"]
    .map((type) => `${type}|${crm?.entityType === type ? crm.entityId : 0}`)
    .join("|");
}
