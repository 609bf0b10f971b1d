/**
 * `npm run replay-failures`: sends the failure queue's parked transfers to the function again, at most
 * once each, and deletes exactly those that succeeded. See --help.
 */
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { SIGNATURE_ATTRIBUTE, verifyBody } from "../lambda/aws/failure-signature.ts";
import { isRegionMissing, REGION_ADVICE, regionOfArn, regionOfQueueUrl } from "./aws-region.ts";
import { replaceSdkNodeWarning } from "./node-support.ts";
import { printable } from "./printable.ts";

export const HELP = `Usage: npm run replay-failures -- (--queue-url <url> --function <name> --signing-secret <id> | --outputs <file>) [options]

Replays the transfers parked in the failure queue through the function, at most once each, and
deletes the messages whose replay succeeded. Failing items stay in the queue and are reported.
Only items the function parked and signed are replayed, and only single transfers: a message
without a valid signature (a Lambda or EventBridge failure record, or anything written by someone
else) and a batch are kept and reported, never sent.

  --queue-url <url>        the failure queue (stack output FailedInvocationsQueueUrl)
  --function <name>        the transfer function's live alias (stack output TransferFunctionAlias)
  --signing-secret <id>    the key parked items are signed with (stack output FailureSigningSecretArn);
                           your role must be one of the stack's secretReaders to read it
  --outputs <file>         read all three from \`cdk deploy --outputs-file <file>\`
  --dry-run                show each message's full request and portal; invoke and delete nothing
  --max <n>                handle at most n messages (default: all)
  --include-unknown        also replay items whose outcome was unknown (OUTCOME_UNKNOWN: the transfer
                           may have run; check the chat first, a replay can hand it over twice)
  --visibility-timeout <s> seconds a message stays hidden while it is handled (default 300)
  --help                   this text

Each replay carries the idempotency key "replay:<message id>": if a run is interrupted after a
transfer but before its message was deleted, the next run gets the stored answer and transfers
nothing again (within the function's idempotency window, IDEMPOTENCY_TTL_SECONDS).
Uses the usual AWS credentials and region (AWS_PROFILE, AWS_REGION).
Exit status: 0 when nothing failed, 1 when some item failed or was not deleted, 2 on a usage error.`;

export class UsageError extends Error {}

const RECEIVE_BATCH = 5;

export interface ReplayOptions {
  queueUrl: string;
  functionName: string;
  signingSecret: string;
  dryRun: boolean;
  max: number;
  includeUnknown: boolean;
  visibilityTimeout: number;
}

/** What a failure-queue message asks to replay. */
interface ParkedItem {
  request: unknown;
  code: string;
  outcomeUnknown: boolean;
  failedAt?: string;
  origin?: string;
}

/** The most of a refused message the report shows. */
const MAX_SHOWN = 2000;

export interface ReplaySummary {
  seen: number;
  replayed: number;
  deleted: number;
  failed: number;
  skippedUnknown: number;
  notDeleted: number;
  wouldReplay: number;
  unreadable: number;
  unsigned: number;
  refused: number;
}

export function parseOptions(argv: readonly string[]): ReplayOptions | "help" {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        "queue-url": { type: "string" },
        function: { type: "string" },
        outputs: { type: "string" },
        "signing-secret": { type: "string" },
        "dry-run": { type: "boolean" },
        max: { type: "string" },
        "include-unknown": { type: "boolean" },
        "visibility-timeout": { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return "help";
  let queueUrl = values["queue-url"] as string | undefined;
  let functionName = values.function as string | undefined;
  let signingSecret = values["signing-secret"] as string | undefined;
  if (typeof values.outputs === "string")
    ({ queueUrl, functionName, signingSecret } = readOutputs(values.outputs));
  if (!queueUrl || !functionName || !signingSecret)
    throw new UsageError("give --queue-url, --function and --signing-secret, or --outputs");
  return {
    queueUrl,
    functionName,
    signingSecret,
    dryRun: values["dry-run"] === true,
    max: positive(values.max, "--max", Number.POSITIVE_INFINITY),
    includeUnknown: values["include-unknown"] === true,
    visibilityTimeout: positive(values["visibility-timeout"], "--visibility-timeout", 300),
  };
}

function positive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new UsageError(`${name} must be a positive integer`);
  return number;
}

/**
 * The first stack in a `cdk deploy --outputs-file` file that has all three outputs. The live alias when the
 * stack has one: the bare name would run $LATEST, the newest code even while a deploy is rolled back.
 */
function readOutputs(file: string): { queueUrl: string; functionName: string; signingSecret: string } {
  let stacks: Record<string, Record<string, string>>;
  try {
    stacks = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  for (const outputs of Object.values(stacks)) {
    if (
      outputs?.FailedInvocationsQueueUrl &&
      outputs.TransferFunctionName &&
      outputs.FailureSigningSecretArn
    ) {
      return {
        queueUrl: outputs.FailedInvocationsQueueUrl,
        functionName: outputs.TransferFunctionAlias ?? outputs.TransferFunctionName,
        signingSecret: outputs.FailureSigningSecretArn,
      };
    }
  }
  throw new UsageError(
    `${file} has no stack with FailedInvocationsQueueUrl, TransferFunctionName and FailureSigningSecretArn`,
  );
}

/** A parked item as the function writes it (event-handler.ts `parkedItem`); read only once its signature held. */
export function readParkedItem(body: string | undefined): ParkedItem | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body ?? "");
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const item = value as Record<string, unknown>;
  if ("request" in item && typeof item.code === "string") {
    const origin = item.origin as { type?: string; name?: string } | undefined;
    return {
      request: item.request,
      code: item.code,
      outcomeUnknown: item.outcomeUnknown === true || item.code === "OUTCOME_UNKNOWN",
      ...(typeof item.failedAt === "string" ? { failedAt: item.failedAt } : {}),
      ...(origin?.type ? { origin: `${origin.type} ${origin.name ?? ""}`.trim() } : {}),
    };
  }
  return undefined;
}

/** The function parks one transfer per message, never a batch (event-handler.ts parks a batch's items one by one). */
function isSingleTransfer(request: unknown): boolean {
  return (
    typeof request === "object" && request !== null && !Array.isArray(request) && !("transfers" in request)
  );
}

/** The whole request (what a replay sends), escaped; the portal it goes to, named. */
function describeRequest(request: unknown): string {
  const portal = (request as { portal?: unknown }).portal;
  const where = typeof portal === "string" ? `portal "${portal}"` : "the default portal";
  return `${printable(JSON.stringify(request))} -> ${printable(where)}`;
}

/** A message that is not replayed: shown escaped and bounded, for a person to judge. */
function describeRaw(body: string | undefined): string {
  const text = printable(body ?? "");
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text;
}

interface Clients {
  sqs: SQSClient;
  lambda: LambdaClient;
  secrets: SecretsManagerClient;
}

/**
 * The queue's region from its URL and the function's from its ARN (or the queue's: one stack), when
 * they name one; otherwise the SDK's own chain (AWS_REGION, the profile).
 */
export function awsClients(options: Pick<ReplayOptions, "queueUrl" | "functionName">): Clients {
  const queueRegion = regionOfQueueUrl(options.queueUrl);
  const functionRegion = regionOfArn(options.functionName) ?? queueRegion;
  return {
    sqs: new SQSClient(queueRegion ? { region: queueRegion } : {}),
    lambda: new LambdaClient(functionRegion ? { region: functionRegion } : {}),
    secrets: new SecretsManagerClient(queueRegion ? { region: queueRegion } : {}),
  };
}

type Outcome = { ok: true } | { ok: false; code: string; message: string };

async function invoke(
  clients: Clients,
  functionName: string,
  key: string,
  request: unknown,
): Promise<Outcome> {
  const output = await clients.lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      Payload: new TextEncoder().encode(JSON.stringify({ idempotencyKey: key, request })),
    }),
  );
  const text = new TextDecoder().decode(output.Payload ?? new Uint8Array());
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) ?? {};
  } catch {}
  if (output.FunctionError) {
    return {
      ok: false,
      code: String(body.errorType ?? output.FunctionError),
      message: String(body.errorMessage ?? text),
    };
  }
  // A batch answer with failed items did not fully succeed.
  if (typeof body.failed === "number" && body.failed > 0) {
    return { ok: false, code: "PARTIAL", message: `${body.failed} item(s) of the batch failed` };
  }
  return { ok: true };
}

export async function replayFailures(
  options: ReplayOptions,
  print: (line: string) => void,
  clients: Clients = awsClients(options),
): Promise<ReplaySummary> {
  const { SecretString: key } = await clients.secrets.send(
    new GetSecretValueCommand({ SecretId: options.signingSecret }),
  );
  if (!key) throw new Error("the signing secret has no value");
  const summary: ReplaySummary = {
    seen: 0,
    replayed: 0,
    deleted: 0,
    failed: 0,
    skippedUnknown: 0,
    notDeleted: 0,
    wouldReplay: 0,
    unreadable: 0,
    unsigned: 0,
    refused: 0,
  };
  const kept: Message[] = [];
  const { queueUrl } = options;
  try {
    while (summary.seen < options.max) {
      const { Messages: messages = [] } = await clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          // Few at a time: each replay may take the function's whole timeout (28 s) while the rest wait hidden.
          MaxNumberOfMessages: Math.min(RECEIVE_BATCH, options.max - summary.seen),
          VisibilityTimeout: options.visibilityTimeout,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ["All"],
        }),
      );
      if (messages.length === 0) break;
      for (const message of messages) {
        summary.seen++;
        const prefix = `[${summary.seen}] ${printable(message.MessageId ?? "")}`;
        const signature = message.MessageAttributes?.[SIGNATURE_ATTRIBUTE]?.StringValue;
        if (!verifyBody(message.Body ?? "", signature, key)) {
          summary.unsigned++;
          kept.push(message);
          print(`${prefix} kept: not signed by the function, never replayed: ${describeRaw(message.Body)}`);
          continue;
        }
        const item = readParkedItem(message.Body);
        if (!item) {
          summary.unreadable++;
          kept.push(message);
          print(`${prefix} kept: not a parked transfer: ${describeRaw(message.Body)}`);
          continue;
        }
        const where = [item.code, item.origin, item.failedAt].filter(Boolean).join(", ");
        print(`${prefix} ${describeRequest(item.request)} (${printable(where)})`);
        if (!isSingleTransfer(item.request)) {
          summary.refused++;
          kept.push(message);
          print("    kept: not a single transfer (the function never parks a batch); not replayed");
          continue;
        }
        if (item.outcomeUnknown && !options.includeUnknown) {
          summary.skippedUnknown++;
          kept.push(message);
          print("    skipped: its outcome was unknown; check the chat, then use --include-unknown");
          continue;
        }
        if (options.dryRun) {
          summary.wouldReplay++;
          kept.push(message);
          print("    would replay (dry run)");
          continue;
        }
        const outcome = await invoke(
          clients,
          options.functionName,
          `replay:${message.MessageId}`,
          item.request,
        );
        if (!outcome.ok) {
          summary.failed++;
          kept.push(message);
          print(`    failed, kept: ${describeRaw(outcome.message)}`);
          if (outcome.code === "OUTCOME_UNKNOWN") {
            print("    the transfer may have run: check the chat before replaying this one again");
          }
          continue;
        }
        summary.replayed++;
        try {
          await clients.sqs.send(
            new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
          );
          summary.deleted++;
          print("    replayed, deleted");
        } catch (error) {
          summary.notDeleted++;
          kept.push(message);
          print(
            `    replayed, but not deleted (${printable((error as Error).name)}): a rerun answers it from the idempotency record`,
          );
        }
      }
    }
  } finally {
    // Kept messages were hidden while handled; show them again so the next run (or a look) finds them.
    for (const message of kept) {
      await clients.sqs
        .send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        )
        .catch(() => undefined);
    }
  }
  return summary;
}

export function describeSummary(summary: ReplaySummary, dryRun: boolean): string {
  const parts = [`${summary.seen} message(s)`];
  if (dryRun) parts.push(`${summary.wouldReplay} would be replayed`);
  else
    parts.push(
      `${summary.replayed} replayed`,
      `${summary.deleted} deleted`,
      `${summary.failed} failed and kept`,
    );
  if (summary.notDeleted > 0) parts.push(`${summary.notDeleted} replayed but not deleted`);
  if (summary.skippedUnknown > 0) parts.push(`${summary.skippedUnknown} with unknown outcome skipped`);
  if (summary.unreadable > 0) parts.push(`${summary.unreadable} unreadable and kept`);
  if (summary.unsigned > 0) parts.push(`${summary.unsigned} unsigned and kept`);
  if (summary.refused > 0) parts.push(`${summary.refused} batch(es) refused and kept`);
  return parts.join(", ");
}

async function main(argv: readonly string[]): Promise<number> {
  let options: ReplayOptions | "help";
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`replay-failures: ${error.message}\n\n${HELP}`);
    return 2;
  }
  if (options === "help") {
    console.log(HELP);
    return 0;
  }
  console.log(
    `${options.dryRun ? "Dry run: " : ""}replaying ${options.queueUrl} through ${options.functionName}`,
  );
  const summary = await replayFailures(options, (line) => console.log(line));
  console.log(`Summary: ${describeSummary(summary, options.dryRun)}`);
  const kept = summary.failed + summary.notDeleted + summary.unreadable + summary.unsigned + summary.refused;
  return kept > 0 ? 1 : 0;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  replaceSdkNodeWarning(console.error);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      if (isRegionMissing(error)) {
        console.error(`replay-failures: ${REGION_ADVICE}, or give the queue URL the stack output prints`);
        process.exitCode = 2;
        return;
      }
      console.error(`replay-failures: ${printable(`${error.name}: ${error.message}`)}`);
      process.exitCode = 1;
    },
  );
}
