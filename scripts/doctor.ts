/**
 * `npm run doctor -- [--portal <name>] [--secret-id <id>]`: checks a portal's webhook with harmless
 * read-only calls (is it accepted, does it have the imopenlines and imbot scopes, which open lines
 * exist) and exits 1 on any problem. The webhook code is never printed: host and user id only.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Finding, runChecks } from "./doctor/checks.ts";
import {
  chooseSource,
  describeSource,
  loadWebhook,
  SourceProblem,
  UsageError,
  type Webhook,
} from "./doctor/webhook-source.ts";
import { replaceSdkNodeWarning } from "./node-support.ts";

const USAGE = `usage: npm run doctor -- [--portal <name>] [--secret-id <secret id or ARN>]

  B24_WEBHOOK_URL=https://<portal>/rest/<user>/<code>/ npm run doctor
  npm run doctor -- --secret-id "$PORTAL_SECRET"     # a deployed portal's secret (default AWS credentials)
  PORTALS='{"main":"<secret id>"}' npm run doctor -- --portal main`;

function parseArguments(args: string[]): { portal?: string; secretId?: string } | "help" {
  if (args.includes("--help") || args.includes("-h")) return "help";
  const options: { portal?: string; secretId?: string } = {};
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
    } else {
      throw new UsageError(`unexpected argument ${arg}`);
    }
  }
  return options;
}

/** Writes through a filter that masks the webhook code, should anything ever quote it. */
function maskingWriter(write: (line: string) => void) {
  let secret: string | undefined;
  return {
    hide(code: string) {
      // Too short a code would mask ordinary words; real codes are long random strings.
      if (code.length >= 4) secret = code;
    },
    write(line: string) {
      write(secret ? line.split(secret).join("***") : line);
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
  try {
    const options = parseArguments(args);
    if (options === "help") {
      out.write(
        `${USAGE}\n\nChecks a webhook with read-only calls; exit status 0 no problem, 1 problems, 2 usage.`,
      );
      return 0;
    }
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
  out.hide(webhook.code);
  out.write(
    `  webhook: ${webhook.origin}, user ${webhook.userId} (its code is never printed); clientId ${webhook.credentials.clientId}`,
  );

  const findings = await runChecks(webhook);
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
