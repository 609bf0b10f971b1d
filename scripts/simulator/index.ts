/**
 * A Bitrix24 portal simulator: a real HTTP server on 127.0.0.1 that answers like a portal running the
 * imopenlines module (yuliai/bitrix-modules imopenlines/lib/rest.php, chat.php; contract.md) for the
 * methods this project calls.
 *
 *   const sim = await startSimulator();               // demo portal, cloud rate limit (50 burst, 2/s)
 *   await fetch(`${sim.webhookUrl()}imopenlines.bot.session.transfer.json`, {
 *     method: "POST", headers: { "content-type": "application/json" },
 *     body: JSON.stringify({ CHAT_ID: 112, USER_ID: 12, LEAVE: "N", CLIENT_ID: DEMO_BOT.clientId }),
 *   });                                               // 200 {"result": true, "time": {…}}
 *   sim.ledger;  // [{ seq: 1, method: "imopenlines.bot.session.transfer", chatId: 112, to: { userId: 12 },
 *                //    leave: false, botId: 7, sessionId: 1120, reopened: false, at }]
 *   sim.chat(112);  // { stage: "answered", ownerId: 12, botIds: [], userIds: [12], … }: answered at once
 *   sim.injectFault({ kind: "error", status: 500, error: "ERROR_CORE" }, { executes: true }); // runs, then fails
 *   sim.holdLock(112, { times: 2 });                  // the next 2 transfers of chat 112: OPERATOR_WRONG
 *   const newUrl = await sim.movePortal();            // the old address now answers 302 → newUrl
 *   await sim.close();
 *
 * API
 * - startSimulator(options?: SimulatorOptions): Promise<Simulator>
 *     options: port (default 0), rateLimit ({ burst, drainPerSecond } | false), portal (PortalSeed, default
 *     demoPortal()), now (() => epoch ms; inject to move time for the rate limit and token expiry),
 *     accessTokenLifetimeSeconds (default 3600), refreshTokenLifetimeSeconds (default 180 days).
 * - Simulator: url, port, webhookUrl(webhook?), ledger, messages, onTransfer(listener), hits, chat(id),
 *     answer(chatId, userId) / offer(chatId, userId) / finish(chatId) (what operators and the queue do in
 *     Bitrix24's UI), addWebhook(w), revokeWebhook(code), holdLock(chatId, { times? }), movePortal(),
 *     injectFault(fault, { times?, method?, executes? }), clearFaults(), reset(), close();
 *     for OAuth applications: tokenUrl, installApp(clientId?), revokeApp(clientId?), tokenRequests,
 *     liveRefreshTokens().
 * - ledger: TransferRecord { seq, method (transfer | session.operator), chatId, to, leave, botId, sessionId,
 *     reopened, at }: every EXECUTED hand-over (batch commands and after-execution faults included);
 *     `reopened` marks a closed dialogue that the call reopened as session `sessionId`. messages:
 *     MessageRecord { seq, chatId, name (DEFAULT | WELCOME), message, at }: what session.message.send
 *     really wrote (nothing for other NAMEs). `seq` is shared and increasing.
 * - chat(id): ChatSnapshot { id, lineId, stage (bot | queue | offered | answered | closed), sessionId,
 *     ownerId (AUTHOR_ID, dialog.get's `owner`), sessionOperatorId, botIds, userIds }.
 * - demoPortal(): PortalSeed — webhook 1/demo0webhook0code (imopenlines, imbot, im) which registered bot 7
 *     with CLIENT_ID "b24-transfer-demo" (DEMO_BOT; APP_ID "customb24-transfer-demo"); bot 8 with CLIENT_ID
 *     "other-bot-client"; app DEMO_APP with its own bot 9 (DEMO_APP_BOT); operators 12 (active),
 *     13 (inactive), 14; extranet user 20; connector 30; open lines 3 "Support" [12], 4 "Sales" [12, 14]
 *     (bot 7 their welcome bot), 5 "Archive" (inactive), 6 "Partners" (the webhook's user may not read it);
 *     chats 112..120 held by bot 7, 121 answered by operator 12, 122 closed, 123 waiting in line 4's
 *     queue, 124 held by bot 7 on line 6.
 *
 * Methods: imopenlines.bot.session.transfer, imopenlines.bot.session.operator,
 * imopenlines.bot.session.message.send, imopenlines.dialog.get, imopenlines.config.get,
 * imopenlines.config.list.get (scope imopenlines), scope, batch. The chats follow open-lines-chats.ts.
 * The acting bot of a transfer: for a webhook the first bot whose APP_ID is "custom" + CLIENT_ID
 * (no CLIENT_ID: 403 ACCESS_DENIED; no bot: 400 BOT_ID_ERROR), for an app its first bot; no BOT_ID.
 * Transfer errors: CHAT_ID_EMPTY, USER_ID_EMPTY, QUEUE_ID_EMPTY, TRANSFER_ID_EMPTY, and OPERATOR_WRONG for
 * everything Chat::transfer refuses (unknown chat, a user who is not an active employee, an unknown line,
 * a held lock); never WRONG_CHAT. Accepted, as by Bitrix24: a chat a person holds, a closed dialogue (a
 * new one is opened and transferred), an inactive line. session.operator: WRONG_CHAT once the session's
 * operator is not a bot. dialog.get: ACCESS_ERROR only. config.get: CONFIG_ID_EMPTY; unknown line → false.
 *
 * Routes: /rest/<userId>/<code>/<method>[.json] (webhook) and /rest/<method>[.json] with an `auth` access
 * token (application), with a JSON, form-encoded or multipart body and/or a query string; /oauth/token/
 * (GET query or POST form: grant_type=refresh_token, client_id, client_secret, refresh_token), which
 * rotates pairs as Bitrix24 does (see oauth-server.ts) and is recorded in `tokenRequests`, not `hits`.
 * Errors (status, code): 404 ERROR_METHOD_NOT_FOUND (checked before authentication), 401 NO_AUTH_FOUND (no
 * credentials: /rest/<method>), 401 invalid_token, 401 expired_token, 401 INVALID_CREDENTIALS
 * (unknown/revoked webhook or wrong user id), 401 insufficient_scope, 503 QUERY_LIMIT_EXCEEDED (rate limit;
 * not executed), 400 ERROR_ARGUMENT (body not decodable), 413 nginx page (body over 1 MiB).
 * Faults (injectFault): error envelopes (e.g. 400/500 ERROR_CORE, 503 QUERY_LIMIT_EXCEEDED), reset, hang,
 * malformed/empty 200, HTML page, result false, latency; refused before execution unless `executes: true`,
 * which runs the request (a whole batch) first and then replaces its answer.
 * Batch: up to 50 commands run in order against the same state; each command past the 50th gets an
 * ERROR_BATCH_LENGTH_EXCEEDED entry and a nested batch an ERROR_BATCH_METHOD_NOT_ALLOWED entry in
 * result_error (the batch itself answers 200, as error-codes.md describes); the batch is one rate-limit hit.
 */

export { MAX_BATCH_COMMANDS } from "./batch.ts";
export { DEMO_APP, DEMO_APP_BOT, DEMO_BOT, DEMO_WEBHOOK, demoPortal } from "./demo-portal.ts";
export type { Fault, FaultKind, FaultOptions } from "./faults.ts";
export { DEFAULT_RATE_LIMIT, LeakyBucket, type RateLimit } from "./leaky-bucket.ts";
export type { Caller, MessageRecord, TransferRecord } from "./method-types.ts";
export type { AppSeed, RefreshTokenState, TokenGrant, TokenRequestRecord } from "./oauth-server.ts";
export type {
  BotSeed,
  ChatSeed,
  ChatSnapshot,
  ChatStage,
  OpenLineSeed,
  PortalSeed,
  TransferTarget,
  UserKind,
  UserSeed,
  WebhookSeed,
  WelcomeBotSeed,
} from "./portal-state.ts";
export type { AuthRefusal, ErrorEnvelope } from "./rest-errors.ts";
export {
  type HitRecord,
  MAX_BODY_BYTES,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from "./server.ts";
export type { CommandTime, TimeEnvelope } from "./time-envelope.ts";
