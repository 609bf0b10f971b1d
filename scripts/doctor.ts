/**
 * `npm run doctor -- [--portal <name>] [--secret-id <id>] [--chat <id>] [--line <id>]…`: checks a portal's
 * webhook with harmless read-only calls (is it accepted, does it have the imopenlines and imbot scopes,
 * is the bot found, may it read a chat, which open lines exist, are the lines the schedules name there
 * and active) and exits 1 on any problem. The webhook code is never printed: host and user id only.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chatIdOf } from "../lambda/domain/chat-state.ts";
import { redactSecrets } from "../lambda/domain/safe-text.ts";
import { linesNamedInSettings } from "./doctor/chat-checks.ts";
import { runChecks } from "./doctor/checks.ts";
import type { Finding } from "./doctor/finding.ts";
import {
  chooseSource,
  describeSource,
  loadWebhook,
  SourceProblem,
  UsageError,
  type Webhook,
} from "./doctor/webhook-source.ts";
import { replaceSdkNodeWarning } from "./node-support.ts";
import { printable } from "./printable.ts";

const USAGE = `usage: npm run doctor -- [--portal <name>] [--secret-id <secret id or ARN>] [--chat <id>] [--line <id>]…

  --chat <id>   a chat on your line: proves the webhook's user may read it (the guard reads every chat)
  --line <id>   a line your callers name (repeatable); the lines cdk.json's schedules name are checked too

  B24_WEBHOOK_URL=https://<portal>/rest/<user>/<code>/ npm run doctor
  npm run doctor -- --secret-id "$PORTAL_SECRET"     # a deployed portal's secret (default AWS credentials)
  PORTALS='{"main":"<secret id>"}' npm run doctor -- --portal main`;

interface Options {
  portal?: string;
  secretId?: string;
  chatId?: number;
  lineIds: number[];
}

function parseArguments(args: string[]): Options | "help" {
  if (args.includes("--help") || args.includes("-h")) return "help";
  const options: Options = { lineIds: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = args[i + 1];
    if (arg === "--portal" || arg === "--secret-id") {
      if (!value || value.startsWith("--")) {
        throw new UsageError(
          `${arg} needs a value: ${arg === "--portal" ? "a portal name" : "a secret id or ARN"}`,
        );
      }
      if (arg === "--portal") options.portal = value;
      else options.secretId = value;
      i++;
    } else if ((arg === "--chat" || arg === "--line") && value !== undefined) {
      // A chat also as its dialog id chat112; a line only as its number.
      const id = arg === "--chat" || /^[0-9]+$/.test(value) ? chatIdOf(value) : undefined;
      if (id === undefined) throw new UsageError(`${arg} needs a positive id, not ${value.slice(0, 20)}`);
      if (arg === "--chat") options.chatId = id;
      else options.lineIds.push(id);
      i++;
    } else {
      throw new UsageError(`unexpected argument ${arg}`);
    }
  }
  return options;
}

/**
 * Writes through a filter that masks the webhook code and the bot's CLIENT_ID, should anything ever
 * quote them, and escapes control characters, so no text from elsewhere can forge or hide a line.
 */
function maskingWriter(write: (line: string) => void) {
  const secrets: string[] = [];
  return {
    hide(...values: string[]) {
      // Too short a value would mask ordinary words; real codes are long random strings.
      secrets.push(...values.filter((value) => value.length >= 4));
    },
    write(line: string) {
      const masked = secrets.reduce((text, secret) => text.split(secret).join("***"), line);
      write(printable(redactSecrets(masked)));
    },
  };
}

function formatFinding(finding: Finding): string[] {
  return [
    `  ${finding.level.padEnd(4)}  ${finding.subject}: ${finding.text}`,
    ...(finding.lines ?? []).map((line) => `          ${line}`),
  ];
}

export async function runDoctor(
  args: string[],
  env: NodeJS.ProcessEnv,
  write: (line: string) => void,
): Promise<number> {
  const out = maskingWriter(write);
  let source: ReturnType<typeof chooseSource>;
  let options: Options;
  try {
    const parsed = parseArguments(args);
    if (parsed === "help") {
      out.write(
        `${USAGE}\n\nChecks a webhook with read-only calls; exit status 0 no problem, 1 problems, 2 usage.`,
      );
      return 0;
    }
    options = parsed;
    source = chooseSource(options, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    out.write(`doctor: ${error.message}\n\n${USAGE}`);
    return 2;
  }

  out.write(`doctor: checking ${describeSource(source)}`);
  let webhook: Webhook;
  try {
    webhook = await loadWebhook(source, env);
  } catch (error) {
    if (!(error instanceof SourceProblem)) throw error;
    out.write(`  FAIL  secret: ${error.message}`);
    out.write("doctor: 1 problem found");
    return 1;
  }
  out.hide(webhook.code, webhook.credentials.clientId);
  out.write(
    `  webhook: ${webhook.origin}, user ${webhook.userId}, clientId of ${webhook.credentials.clientId.length} characters (neither code nor clientId is ever printed)`,
  );

  const lineIds = [...new Set([...options.lineIds, ...linesNamedInSettings("cdk.json", options.portal)])];
  const findings = await runChecks(webhook, {
    lineIds: lineIds.sort((a, b) => a - b),
    ...(options.chatId === undefined ? {} : { chatId: options.chatId }),
  });
  for (const finding of findings) for (const line of formatFinding(finding)) out.write(line);
  const problems = findings.filter((finding) => finding.level === "FAIL").length;
  out.write(
    problems === 0
      ? "doctor: no problem found"
      : `doctor: ${problems} problem${problems === 1 ? "" : "s"} found`,
  );
  return problems === 0 ? 0 : 1;
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
// Exits explicitly: the AWS SDK's sockets would otherwise keep the process alive a while.
if (invokedDirectly) {
  replaceSdkNodeWarning(console.error);
  process.exit(await runDoctor(process.argv.slice(2), process.env, console.log));
}
