import { existsSync, readFileSync } from "node:fs";
import { CONFIG_CONTEXT_KEY, parseConfig } from "../../infra/config.ts";
import { requireTransferInput, type TransferRequest } from "../../lambda/domain/transfer-request.ts";
import type { Finding } from "./finding.ts";
import { callRest } from "./rest-call.ts";
import type { Webhook } from "./webhook-source.ts";

/**
 * The doctor's checks for what the guard and the schedules need: that the webhook's user may read a
 * line's chats (`imopenlines.dialog.get`, which every guarded hand-over calls first), and that every line
 * a schedule or the command line names exists and is active. Bitrix24 accepts a transfer to an inactive
 * line and parks the chat there (chat.php `transferToQueue` only checks that `ConfigTable::getById`
 * finds it), so nothing else would tell.
 */

/** A chat id no portal has (auto-increment ids): dialogGet refuses it with ACCESS_ERROR, having changed nothing. */
const NO_SUCH_CHAT = 2_147_483_647;

export async function checkChatRead(webhook: Webhook, chatId: number | undefined): Promise<Finding> {
  const subject = "chat read";
  const outcome = await callRest(webhook.credentials.restBase, "imopenlines.dialog.get", {
    CHAT_ID: chatId ?? NO_SUCH_CHAT,
  });
  if (outcome.ok) {
    const answer = (outcome.result ?? {}) as Record<string, unknown>;
    return {
      level: chatId === undefined ? "warn" : "ok",
      subject,
      text:
        chatId === undefined
          ? `Bitrix24 answered a read of chat ${NO_SUCH_CHAT}, which should not exist`
          : `the webhook's user may read chat ${chatId} (owner ${String(answer.owner)}, session ${String(answer.entity_data_1 ?? "").split("|")[5] ?? "?"}): the guard can read before every hand-over`,
    };
  }
  if (outcome.kind === "bitrix24-error" && outcome.error === "ACCESS_ERROR") {
    if (chatId === undefined) {
      return {
        level: "warn",
        subject,
        text: "imopenlines.dialog.get answers (ACCESS_ERROR for a chat that cannot exist). Give --chat <id> of a chat on your line to prove the webhook's user may read the line's chats: every guarded hand-over reads its chat first",
      };
    }
    return {
      level: "FAIL",
      subject,
      text: `Bitrix24 refused to show chat ${chatId} (ACCESS_ERROR): it is no Open Lines chat, or user ${webhook.userId} lacks the Open Lines permission to join that line's dialogues (JOIN, Config::canJoin). Grant it in Contact Center → access permissions, or every guarded hand-over of that line answers 422 CHAT_NOT_READABLE`,
    };
  }
  const said = outcome.kind === "bitrix24-error" ? outcome.error : outcome.kind;
  return {
    level: "FAIL",
    subject,
    text: `imopenlines.dialog.get failed (${said}): the guard cannot read chats`,
  };
}

/** Each named line exists and is active (imopenlines.config.get: rest.php `configGet` → Config::get, false for none). */
export async function checkNamedLines(webhook: Webhook, lineIds: readonly number[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const lineId of lineIds) {
    const subject = `line ${lineId}`;
    const outcome = await callRest(webhook.credentials.restBase, "imopenlines.config.get", {
      CONFIG_ID: lineId,
      WITH_QUEUE: "N",
    });
    if (!outcome.ok) {
      const said = outcome.kind === "bitrix24-error" ? outcome.error : outcome.kind;
      findings.push({ level: "FAIL", subject, text: `imopenlines.config.get failed (${said})` });
    } else if (typeof outcome.result !== "object" || outcome.result === null) {
      findings.push({ level: "FAIL", subject, text: "no such open line: a transfer there is refused" });
    } else if ((outcome.result as Record<string, unknown>).ACTIVE !== "Y") {
      findings.push({
        level: "FAIL",
        subject,
        text: "the line is inactive: Bitrix24 still accepts a transfer there and parks the chat on a line nobody serves",
      });
    } else {
      findings.push({ level: "ok", subject, text: "exists and is active" });
    }
  }
  return findings;
}

/**
 * The lines (queueId and fallback queueId) named by the schedules in a cdk.json for `portal` (or, when
 * none is named, the configuration's default portal).
 */
export function linesNamedInSettings(path: string, portal: string | undefined): number[] {
  if (!existsSync(path)) return [];
  const raw = JSON.parse(readFileSync(path, "utf8")) as { context?: Record<string, unknown> };
  const settings = raw.context?.[CONFIG_CONTEXT_KEY];
  if (settings === undefined) return [];
  const config = parseConfig(settings, path);
  const wanted = portal ?? config.defaultPortal;
  const lines = new Set<number>();
  for (const { request } of config.schedules) {
    const input = requireTransferInput(request);
    const requests: TransferRequest[] = input.kind === "single" ? [input.request] : input.requests;
    for (const item of requests) {
      if ((item.portal ?? config.defaultPortal) !== wanted) continue;
      for (const target of [item.target, item.fallback]) {
        if (target && "queueId" in target) lines.add(target.queueId);
      }
    }
  }
  return [...lines].sort((a, b) => a - b);
}
