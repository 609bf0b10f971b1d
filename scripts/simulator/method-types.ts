import type { Params } from "./php-values.ts";
import type { PortalState, TransferTarget } from "./portal-state.ts";

/**
 * Shared shapes of the simulated REST methods. Methods import only this module (never the registry),
 * so the registry can import every method without an import cycle.
 */

/**
 * Who calls: a webhook (by its user), or an OAuth application (by its client id, running as the user who
 * installed it). Both carry their scopes.
 */
export type Caller =
  | { kind: "webhook"; userId: number; scopes: readonly string[] }
  | { kind: "app"; clientId: string; userId: number; scopes: readonly string[] };

/** A hand-over that really happened: a transfer or a bot's `session.operator`. */
export interface TransferRecord {
  /** Shared with `MessageRecord.seq`: increases by one for every ledger or message record. */
  seq: number;
  method: "imopenlines.bot.session.transfer" | "imopenlines.bot.session.operator";
  chatId: number;
  to: TransferTarget;
  /** What LEAVE meant to the module (a loose `== 'Y'`); for session.operator, whether the bot left. */
  leave: boolean;
  botId: number;
  /** The session (dialogue) handed over. */
  sessionId: number;
  /** The dialogue was closed: loading it opened this new session first (Session::load without SKIP_CREATE). */
  reopened: boolean;
  /** `now()` of the simulator when it happened (epoch ms unless a clock was injected). */
  at: number;
}

/**
 * A message `imopenlines.bot.session.message.send` really wrote into a chat (Chat::sendAutoMessage):
 * MESSAGE for NAME=DEFAULT, the line's greeting for NAME=WELCOME. Calls that wrote nothing leave no record.
 */
export interface MessageRecord {
  seq: number;
  chatId: number;
  /** "DEFAULT" or "WELCOME": which of the module's texts was written. */
  name: "DEFAULT" | "WELCOME";
  /** The text written. */
  message: string;
  at: number;
}

/** What a method may use and change while it runs. */
export interface MethodContext {
  portal: PortalState;
  caller: Caller;
  now: () => number;
  recordTransfer(record: Omit<TransferRecord, "seq">): void;
  recordMessage(record: Omit<MessageRecord, "seq">): void;
  /** Throws 429 OPERATION_TIME_LIMIT when the method's operating time is spent (load-limiter.ts). */
  checkOperatingTime(method: string): void;
}

/** A method's answer: `result`, plus `total`/`next` for list methods. */
export interface MethodResult {
  result: unknown;
  total?: number;
  next?: number;
}

export interface RestMethod {
  /** Lower-case method name (Bitrix24 method names are case-insensitive). */
  name: string;
  /** Scopes the caller must have (all of them). */
  scopes: readonly string[];
  /** Throws RestError for Bitrix24 errors. */
  run(params: Params, context: MethodContext): MethodResult;
}
