/**
 * The seed's shapes for users, open lines and Open Lines chats. Kept apart from portal-state.ts so the
 * chat model (open-lines-chats.ts) and the state holder can both use them without an import cycle.
 */

/** A "connector" is the external client's user (Telegram, live chat…): a chat member, never an operator. */
export type UserKind = "employee" | "extranet" | "bot" | "connector";

export interface UserSeed {
  id: number;
  name: string;
  kind: UserKind;
  /** An inactive (dismissed) employee cannot receive a dialogue. */
  active: boolean;
}

/** The line's welcome bot (its WELCOME_BOT_* settings, imopenlines/lib/model/config.php). */
export interface WelcomeBotSeed {
  /** WELCOME_BOT_ID, with WELCOME_BOT_ENABLE = Y. */
  id: number;
  /** WELCOME_BOT_JOIN: "first" (default) joins only a newly created chat, "always" every new dialogue. */
  join?: "first" | "always";
  /**
   * WELCOME_BOT_LEFT: "queue" (default) makes the bot leave when the chat goes to a person
   * (Chat::answer, endBotSession); "close" keeps it in the chat until the dialogue closes.
   */
  left?: "queue" | "close";
}

export interface OpenLineSeed {
  /** The ID from imopenlines.config.list.get, which QUEUE_ID and `queue<ID>` refer to. */
  id: number;
  name: string;
  /** ACTIVE. Bitrix24 still accepts transfers to an inactive line (Chat::transferToQueue). */
  active: boolean;
  /** User ids of the line's operators. */
  queue: readonly number[];
  welcomeBot?: WelcomeBotSeed;
  /** WELCOME_MESSAGE = Y with this WELCOME_MESSAGE_TEXT (what message.send NAME=WELCOME writes). */
  greeting?: string;
  /**
   * Users holding the line's "join" permission (Security\Permissions::ENTITY_JOIN), which
   * Config::canJoin checks for imopenlines.dialog.get. Default: none.
   */
  joinUserIds?: readonly number[];
}

/**
 * Where a chat's dialogue (session) stands:
 * - "bot": the session's operator is a bot (queue/queue.php createSession makes the welcome bot the
 *   session's OPERATOR_ID);
 * - "queue": waiting in its line's queue, nobody answered (after transferToQueue or endBotSession);
 * - "offered": the queue offered it to an operator who has not answered (Queue::transferToNext →
 *   Chat::transfer MODE_AUTO → transferToOperator: the session's OPERATOR_ID, no answer);
 * - "answered": a person answered (Chat::answer; a bot's transfer to a user answers at once);
 * - "closed": no open dialogue (Chat::finish → Chat::close).
 */
export type ChatStage = "bot" | "queue" | "offered" | "answered" | "closed";

export interface ChatSeed {
  id: number;
  /** The open line the customer wrote to: the line in the chat's ENTITY_ID (its user code). */
  lineId: number;
  /** Chat bots that are members of the chat. */
  botIds?: readonly number[];
  /** The person who answered the dialogue (member and owner); for "offered", the one it is offered to. */
  operatorId?: number;
  /** Default: "answered" with an operatorId, else "bot" with bots in the chat, else "queue". */
  stage?: ChatStage;
  /** The open session's id; default chat id × 10. */
  sessionId?: number;
  /** A CRM binding (LINES_SESSION's CRM|TYPE|ID), e.g. { entityType: "LEAD", entityId: 5 }. */
  crm?: { entityType: string; entityId: number };
}
