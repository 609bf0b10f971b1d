/**
 * A Bitrix24 portal simulator: a real HTTP server on 127.0.0.1 that answers like the documented REST API
 * (bitrix24/b24restdocs) for the methods this project calls.
 *
 *   const sim = await startSimulator();               // demo portal, cloud rate limit (50 burst, 2/s)
 *   await fetch(`${sim.webhookUrl()}imopenlines.bot.session.transfer.json`, {
 *     method: "POST", headers: { "content-type": "application/json" },
 *     body: JSON.stringify({ CHAT_ID: 112, USER_ID: 12, LEAVE: "N" }),
 *   });                                               // 200 {"result": true, "time": {…}}
 *   sim.ledger;                                       // [{ chatId: 112, to: { userId: 12 }, leave: false, botId: 7, at }]
 *   sim.injectFault({ kind: "error", status: 503, error: "QUERY_LIMIT_EXCEEDED" }); // next request only
 *   await sim.close();
 *
 * API
 * - startSimulator(options?: SimulatorOptions): Promise<Simulator>
 *     options: port (default 0), rateLimit ({ burst, drainPerSecond } | false), portal (PortalSeed, default
 *     demoPortal()), now (() => epoch ms; inject to move time for the rate limit and token expiry),
 *     accessTokenLifetimeSeconds (default 3600), refreshTokenLifetimeSeconds (default 180 days).
 * - Simulator: url, port, webhookUrl(webhook?), ledger, onTransfer(listener), hits, chat(id), addWebhook(w),
 *     revokeWebhook(code), injectFault(fault, { times?, method? }), clearFaults(), reset(), close();
 *     for OAuth applications: tokenUrl, installApp(clientId?), revokeApp(clientId?), tokenRequests,
 *     liveRefreshTokens().
 * - demoPortal(): PortalSeed — webhook 1/demo0webhook0code (imopenlines, imbot, im), app DEMO_APP, bot 7
 *     ("demo-bot-client"), operators 12 (active), 13 (inactive), 14, bots 7/8, extranet user 20, open lines
 *     3 "Support" [12], 4 "Sales" [12, 14], 5 "Archive" (inactive), chats 112..120 with bot 7, chat 121 without.
 *
 * Routes: /rest/<userId>/<code>/<method>[.json] (webhook) and /rest/<method>[.json] with an `auth` access
 * token (application), with a JSON, form-encoded or multipart body and/or a query string; /oauth/token/
 * (GET query or POST form: grant_type=refresh_token, client_id, client_secret, refresh_token), which
 * rotates pairs as Bitrix24 does (see oauth-server.ts) and is recorded in `tokenRequests`, not `hits`.
 * Methods: imopenlines.bot.session.transfer, imopenlines.config.list.get, scope, batch.
 * Errors (status, code): 401 NO_AUTH_FOUND (no credentials: /rest/<method>), 401 invalid_token (an access
 * token never issued, or killed by a refresh or uninstall), 401 expired_token (past its lifetime on the
 * simulator's clock), 401 INVALID_CREDENTIALS (unknown/revoked webhook or wrong user id),
 * 401 insufficient_scope, 404 ERROR_METHOD_NOT_FOUND, 503 QUERY_LIMIT_EXCEEDED (rate limit; not executed),
 * 400 ERROR_ARGUMENT (body not decodable), 413 nginx page (body over 1 MiB), 400 for every transfer error.
 * Batch: up to 50 commands run in order against the same state; each command past the 50th gets an
 * ERROR_BATCH_LENGTH_EXCEEDED entry and a nested batch an ERROR_BATCH_METHOD_NOT_ALLOWED entry in
 * result_error (the batch itself answers 200, as error-codes.md describes); the batch is one rate-limit hit.
 * Statuses follow the current error-codes.md, which differs from older revisions (and contract.md):
 * INVALID_CREDENTIALS and insufficient_scope are 401 there, not 403.
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
  OpenLineSeed,
  PortalSeed,
  TransferTarget,
  UserKind,
  UserSeed,
  WebhookSeed,
} from "./portal-state.ts";
export type { ErrorEnvelope } from "./rest-errors.ts";
export {
  type HitRecord,
  MAX_BODY_BYTES,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from "./server.ts";
export type { CommandTime, TimeEnvelope } from "./time-envelope.ts";
