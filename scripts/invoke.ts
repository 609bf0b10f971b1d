/**
 * `npm run invoke -- <event.json | sample name> [--timeout <seconds>]`: runs the real bundle once on an
 * event, the way `sam local invoke` would, against the built-in Bitrix24 simulator (or the portal in
 * B24_WEBHOOK_URL). Prints the function's logs, its result or thrown error, and the transfers the
 * simulator performed; exits 1 when the invocation threw or answered HTTP 400 or more.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { basename, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isHttpApiEvent, isRestApiEvent } from "../lambda/events/api-gateway.ts";
import { classifyInvocation } from "../lambda/events/invocation.ts";
import { lambdaContext } from "./local-api.ts";
import { type BundleHandler, LocalSettingError, startLocalEnvironment } from "./local-environment.ts";
import { printable, printableLines } from "./printable.ts";

export const SAMPLES_DIR = fileURLToPath(new URL("../events/", import.meta.url));

/** The deployed function's timeout (infra TRANSFER_TIMEOUT), so deadlines behave as in AWS. */
export const DEFAULT_TIMEOUT_SECONDS = 28;

export const listSamples = (): string[] =>
  readdirSync(SAMPLES_DIR)
    .filter((file) => file.endsWith(".json"))
    .map((file) => file.slice(0, -".json".length))
    .sort();

/** A path to an event file, or the name of a sample in events/ (with or without `.json`). */
export function loadEvent(argument: string): { source: string; event: unknown } {
  const sample = resolve(SAMPLES_DIR, argument.endsWith(".json") ? argument : `${argument}.json`);
  const file = existsSync(argument) ? resolve(argument) : existsSync(sample) ? sample : undefined;
  if (!file) {
    throw new UsageError(`no event file or sample named "${argument}"; samples: ${listSamples().join(", ")}`);
  }
  try {
    return { source: file, event: JSON.parse(readFileSync(file, "utf8")) };
  } catch {
    throw new UsageError(`${basename(file)} is not JSON`);
  }
}

export class UsageError extends Error {}
class HelpRequested extends UsageError {}

const USAGE = `usage: npm run invoke -- <event.json | sample> [--timeout <seconds>]

Runs the real bundle once on an event, as Lambda would, against the built-in Bitrix24 simulator
(or the portal in B24_WEBHOOK_URL, with B24_CLIENT_ID), and prints its logs, its answer and the
transfers performed. Exit status: 0 ok, 1 the function threw or answered 400 or more, 2 usage.`;

/** What the function will take the event for, in the words of the AWS docs. */
export function describeEvent(event: unknown): string {
  if (isHttpApiEvent(event)) return "API Gateway HTTP API (payload 2.0) request";
  if (isRestApiEvent(event)) return "API Gateway REST API (payload 1.0) request";
  const invocation = classifyInvocation(event, 0);
  if (invocation.kind === "event") {
    return invocation.origin.type === "schedule"
      ? `schedule input "${invocation.origin.name}"`
      : `EventBridge event from ${invocation.origin.name}`;
  }
  if (invocation.kind === "unsupported") return "an event the function does not handle";
  return "direct invocation";
}

export type Outcome =
  | { kind: "returned"; value: unknown }
  | { kind: "threw"; errorType: string; errorMessage: string };

export async function invoke(handler: BundleHandler, event: unknown, timeoutMs: number): Promise<Outcome> {
  try {
    return { kind: "returned", value: await handler(event, lambdaContext(timeoutMs)) };
  } catch (error) {
    // Lambda reports a thrown error by its name (our problem code) and message.
    return {
      kind: "threw",
      errorType: error instanceof Error ? error.name : typeof error,
      errorMessage: error instanceof Error ? error.message : String(error),
    };
  }
}

interface HttpAnswer {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

const isHttpAnswer = (value: unknown): value is HttpAnswer =>
  typeof value === "object" && value !== null && typeof (value as HttpAnswer).statusCode === "number";

export function exitCodeFor(outcome: Outcome): number {
  if (outcome.kind === "threw") return 1;
  return isHttpAnswer(outcome.value) && outcome.value.statusCode >= 400 ? 1 : 0;
}

/** The result as people read it: status, headers and the body parsed, or the thrown error. */
export function formatOutcome(outcome: Outcome): string {
  if (outcome.kind === "threw") {
    const { errorType, errorMessage } = outcome;
    return `threw ${errorType}\n${JSON.stringify({ errorType, errorMessage }, null, 2)}`;
  }
  const { value } = outcome;
  if (!isHttpAnswer(value)) return `returned\n${JSON.stringify(value, null, 2)}`;
  let body: unknown = value.body;
  try {
    body = JSON.parse(value.body ?? "");
  } catch {
    // Not JSON: shown as the text it is.
  }
  return [
    `HTTP ${value.statusCode}`,
    ...Object.entries(value.headers ?? {}).map(([name, header]) => `${name}: ${header}`),
    "",
    typeof body === "string" ? body : JSON.stringify(body, null, 2),
  ].join("\n");
}

function parseArguments(args: string[]): { event: string; timeoutMs: number } {
  let event: string | undefined;
  let timeoutSeconds = DEFAULT_TIMEOUT_SECONDS;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--help" || arg === "-h") {
      throw new HelpRequested();
    } else if (arg === "--timeout") {
      timeoutSeconds = Number(args[++i]);
      if (!(timeoutSeconds > 0)) throw new UsageError("--timeout takes a number of seconds");
    } else if (arg.startsWith("-") || event !== undefined) {
      throw new UsageError(`unexpected argument ${arg}`);
    } else {
      event = arg;
    }
  }
  if (event === undefined) throw new UsageError("name an event file or a sample");
  return { event, timeoutMs: timeoutSeconds * 1000 };
}

async function main(args: string[]): Promise<number> {
  let source: string;
  let event: unknown;
  let timeoutMs: number;
  try {
    const parsed = parseArguments(args);
    timeoutMs = parsed.timeoutMs;
    ({ source, event } = loadEvent(parsed.event));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const help = error instanceof HelpRequested;
    (help ? console.log : console.error)(`${help ? "" : `${error.message}\n\n`}${USAGE}
samples (events/): ${listSamples().join(", ")}`);
    return help ? 0 : 2;
  }

  let local: Awaited<ReturnType<typeof startLocalEnvironment>>;
  try {
    local = await startLocalEnvironment();
  } catch (error) {
    if (!(error instanceof LocalSettingError)) throw error;
    console.error(`invoke: ${error.message}`);
    return 2;
  }
  const ledger: string[] = [];
  local.simulator?.onTransfer((record) => ledger.push(`ledger: ${JSON.stringify(record)}`));
  console.log(`invoke: ${basename(source)} (${describeEvent(event)}) on ${local.portalDescription}`);

  const outcome = await invoke(local.handler, event, timeoutMs);
  // The answer's texts went through the function's own bounding and redaction; what is left to do
  // is keeping control characters from forging lines of this report.
  console.log(`\nresult: ${printableLines(formatOutcome(outcome))}\n`);
  for (const line of ledger) console.log(printable(line));
  if (local.simulator && ledger.length === 0) console.log("ledger: (no transfer happened)");
  for (const message of local.aws.messages.get(local.aws.queueUrl) ?? []) {
    console.log(`failure queue: ${printable(JSON.stringify(message))}`);
  }
  await local.close();

  const code = exitCodeFor(outcome);
  console.log(code === 0 ? "invoke: ok" : "invoke: FAILED (the function threw or answered 400 or more)");
  return code;
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
// Exits explicitly: SDK clients in the bundle may keep sockets that would hold the process open.
if (invokedDirectly) process.exit(await main(process.argv.slice(2)));
