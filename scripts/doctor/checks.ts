import { usesAllowedScheme } from "../../lambda/domain/endpoint-url.ts";
import { checkChatRead, checkNamedLines } from "./chat-checks.ts";
import type { Finding } from "./finding.ts";
import { callRest, type RestOutcome } from "./rest-call.ts";
import type { Webhook } from "./webhook-source.ts";

/**
 * The doctor's checks, none of which changes anything: `scope` proves the webhook is accepted and lists
 * its scopes; a transfer of a chat that cannot exist proves the bot; `imopenlines.config.list.get` lists
 * the open lines whose ids a request's `queueId` takes.
 */

/** What imopenlines.bot.session.transfer needs (contract.md). */
export const REQUIRED_SCOPES = ["imopenlines", "imbot"] as const;

/** Errors by which Bitrix24 says the webhook itself is not accepted. */
const CREDENTIAL_ERRORS = new Set(["INVALID_CREDENTIALS", "NO_AUTH_FOUND", "invalid_token", "expired_token"]);

const MAX_PAGES = 20;

export interface OpenLine {
  id: string;
  name: string;
  active: boolean;
  operators: string[];
}

/** What the chat checks need: a chat to read, and the lines the settings and the command line name. */
export interface ChatCheckOptions {
  chatId?: number;
  lineIds: readonly number[];
}

export async function runChecks(
  webhook: Webhook,
  options: ChatCheckOptions = { lineIds: [] },
  moved = false,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const { restBase } = webhook.credentials;

  if (webhook.origin.startsWith("http:")) {
    findings.push({
      level: "warn",
      subject: "webhook",
      text: "plain http on loopback: fine for the simulator; the deployed function accepts only https",
    });
  }

  const scope = await callRest(restBase, "scope", {});
  if (!scope.ok && scope.kind === "moved" && scope.newOrigin !== undefined && !moved) {
    if (!usesAllowedScheme(new URL(scope.newOrigin), true)) {
      findings.push({
        level: "FAIL",
        subject: "address",
        text: `the portal redirects to ${scope.newOrigin}, which is not https: not followed`,
      });
      return findings;
    }
    findings.push({ level: "warn", subject: "address", text: explainFailure(scope, webhook) });
    // The rest of the checks at the new address, as the function would call it.
    return [...findings, ...(await runChecks(atOrigin(webhook, scope.newOrigin), options, true))];
  }
  if (!scope.ok) {
    findings.push({ level: "FAIL", subject: "credentials", text: explainFailure(scope, webhook) });
    return findings;
  }
  const scopes = Array.isArray(scope.result) ? scope.result.map(String) : [];
  findings.push({
    level: "ok",
    subject: "credentials",
    text: "Bitrix24 accepted the webhook (method scope)",
  });

  const missing = REQUIRED_SCOPES.filter((name) => !scopes.includes(name));
  findings.push(
    missing.length === 0
      ? {
          level: "ok",
          subject: "scopes",
          text: `${REQUIRED_SCOPES.join(", ")} granted (all: ${scopes.join(", ")})`,
        }
      : {
          level: "FAIL",
          subject: "scopes",
          text: `missing ${missing.join(", ")} (granted: ${scopes.join(", ") || "none"}); edit the webhook in Bitrix24 (Developer resources → Other → Incoming webhook) and tick ${missing.join(" and ")}`,
        },
  );

  if (scopes.includes("imopenlines")) {
    findings.push(await checkBot(webhook));
    findings.push(await checkChatRead(webhook, options.chatId));
    findings.push(...(await checkNamedLines(webhook, options.lineIds)));
  }

  if (!scopes.includes("imopenlines")) {
    findings.push({
      level: "warn",
      subject: "open lines",
      text: "not listed: that needs the imopenlines scope",
    });
    return findings;
  }
  const lines = await listOpenLines(restBase);
  if (!Array.isArray(lines)) {
    findings.push({ level: "FAIL", subject: "open lines", text: explainFailure(lines, webhook) });
  } else if (lines.length === 0) {
    findings.push({
      level: "warn",
      subject: "open lines",
      text: "none: transfers to a queue have nowhere to go",
    });
  } else {
    findings.push({
      level: "ok",
      subject: "open lines",
      text: `${lines.length}; a request's queueId is the ID:`,
      lines: lines.map(
        (line) =>
          `ID ${line.id.padEnd(4)} ${line.active ? "active  " : "inactive"}  ${line.name}  (operators: ${line.operators.join(", ") || "none"})`,
      ),
    });
  }
  return findings;
}

/** Every open line, following Bitrix24's `next` paging; OPTIONS.QUEUE adds each line's operators. */
export async function listOpenLines(
  restBase: string,
): Promise<OpenLine[] | Exclude<RestOutcome, { ok: true }>> {
  const lines: OpenLine[] = [];
  let start: number | undefined = 0;
  for (let page = 0; page < MAX_PAGES && start !== undefined; page++) {
    const answer = await callRest(restBase, "imopenlines.config.list.get", {
      PARAMS: { order: { ID: "ASC" } },
      OPTIONS: { QUEUE: "Y" },
      start,
    });
    if (!answer.ok) return answer;
    for (const row of Array.isArray(answer.result) ? answer.result : []) lines.push(toOpenLine(row));
    start = answer.next;
  }
  return lines;
}

function toOpenLine(row: unknown): OpenLine {
  const record = (typeof row === "object" && row !== null ? row : {}) as Record<string, unknown>;
  return {
    id: String(record.ID ?? "?"),
    name: String(record.LINE_NAME ?? ""),
    active: record.ACTIVE === "Y",
    operators: Array.isArray(record.QUEUE) ? record.QUEUE.map(String) : [],
  };
}

function atOrigin(webhook: Webhook, origin: string): Webhook {
  const restBase = `${origin}${new URL(webhook.credentials.restBase).pathname}`;
  return { ...webhook, origin, credentials: { ...webhook.credentials, restBase } };
}

/**
 * No chat has this id (chat ids are auto-increment integers), so the transfer cannot move anything. It
 * still runs every check before the chat (rest.php `botSessionTransfer`): the webhook, the scope,
 * `resolveClientId` (ACCESS_DENIED without CLIENT_ID) and `Im\Bot::getBotIdByAppId` (BOT_ID_ERROR without
 * a bot registered with that CLIENT_ID), and only then refuses the chat with OPERATOR_WRONG.
 */
export const IMPOSSIBLE_CHAT_ID = 2_147_483_647;

export async function checkBot(webhook: Webhook): Promise<Finding> {
  const { restBase, clientId } = webhook.credentials;
  const outcome = await callRest(restBase, "imopenlines.bot.session.transfer", {
    CHAT_ID: IMPOSSIBLE_CHAT_ID,
    USER_ID: Number(webhook.userId) || 1,
    CLIENT_ID: clientId,
  });
  const subject = "bot";
  if (outcome.ok) {
    return {
      level: "warn",
      subject,
      text: `Bitrix24 accepted a transfer of chat ${IMPOSSIBLE_CHAT_ID}, which should not exist; the bot works, but check that chat`,
    };
  }
  if (outcome.kind !== "bitrix24-error")
    return { level: "FAIL", subject, text: explainFailure(outcome, webhook) };
  switch (outcome.error) {
    case "OPERATOR_WRONG":
      return {
        level: "ok",
        subject,
        text: `credentials, clientId and bot are right: a transfer of chat ${IMPOSSIBLE_CHAT_ID} (which cannot exist) got past the bot checks and was refused for the chat (OPERATOR_WRONG); nothing moved`,
      };
    case "ACCESS_DENIED":
      return {
        level: "FAIL",
        subject,
        text: "Bitrix24 did not get the bot's CLIENT_ID (ACCESS_DENIED). Set clientId in the portal's secret (B24_CLIENT_ID for a local run) to the CLIENT_ID the bot was registered with through this webhook",
      };
    case "BOT_ID_ERROR":
      return {
        level: "FAIL",
        subject,
        text: `no chat bot is registered with the secret's clientId through this webhook (BOT_ID_ERROR). Either set clientId to the CLIENT_ID you gave imbot.register (or the botToken you gave imbot.v2.Bot.register), or register the bot through this webhook: imbot.register with CODE, TYPE "O" (an Open Lines bot), EVENT_HANDLER, PROPERTIES.NAME and CLIENT_ID set to the secret's clientId. A bot another application created cannot be driven by a webhook (docs/bot-setup.md)`,
      };
    default:
      return { level: "FAIL", subject, text: explainFailure(outcome, webhook) };
  }
}

export function explainFailure(outcome: Exclude<RestOutcome, { ok: true }>, webhook: Webhook): string {
  switch (outcome.kind) {
    case "unreachable":
      return `${webhook.origin} is unreachable (${outcome.reason})`;
    case "moved":
      return outcome.newOrigin === undefined
        ? `${webhook.origin} answered HTTP ${outcome.status} without a usable new address`
        : `the portal has moved to ${outcome.newOrigin} (HTTP ${outcome.status}): the function follows the move, but put the new address into the portal's secret (webhookUrl)`;
    case "not-bitrix24":
      return `${webhook.origin} answered HTTP ${outcome.status} without a Bitrix24 answer: is this a Bitrix24 portal's REST URL?`;
    case "bitrix24-error": {
      const said = `${outcome.error}${outcome.description ? `: ${outcome.description}` : ""}`;
      if (CREDENTIAL_ERRORS.has(outcome.error)) {
        return `Bitrix24 refused the webhook (${said}); the code is wrong, the webhook was deleted, or it belongs to another user than ${webhook.userId}`;
      }
      return `Bitrix24 answered HTTP ${outcome.status} ${said}`;
    }
  }
}
