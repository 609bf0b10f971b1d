import { pathToFileURL } from "node:url";
import type { Context } from "aws-lambda";
import { bundleLambda, LAMBDA_ENTRIES, PROJECT_ROOT } from "../infra/bundling.ts";
import { TransferError } from "../lambda/domain/problems.ts";
import { parseWebhookSecret } from "../lambda/portals/portal-secret.ts";
import { type LocalAws, startLocalAws } from "./local-aws.ts";
import { startDynamo } from "./local-dynamodb.ts";
import { type LocalSecretsExtension, startLocalSecretsExtension } from "./local-secrets-extension.ts";
import { DEMO_BOT, type Simulator, startSimulator } from "./simulator/index.ts";

/**
 * The real Lambda bundle wired to loopback stand-ins, as `npm start` and `npm run invoke` run it:
 * Bitrix24 is the built-in simulator unless B24_WEBHOOK_URL names a real portal; Secrets Manager and
 * SQS are scripts/local-aws.ts, DynamoDB is dynalite. No AWS account or credentials are needed.
 * LOCAL_SECRETS_EXTENSION=true puts the Parameters and Secrets extension's HTTP API (emulated, on
 * loopback) in front of Secrets Manager, as the deployed function has it.
 */

export type BundleHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface LocalEnvironment {
  handler: BundleHandler;
  /** Undefined when B24_WEBHOOK_URL names a real portal. */
  simulator: Simulator | undefined;
  aws: LocalAws;
  /** The emulated Parameters and Secrets extension, with LOCAL_SECRETS_EXTENSION=true. */
  extension: LocalSecretsExtension | undefined;
  /** What the transfers run against, without the webhook code: safe to print. */
  portalDescription: string;
  close(): Promise<void>;
}

/** The default configuration's portal name, so answers read locally as they will after a deploy. */
export const LOCAL_PORTAL = "main";
const SECRET_ID = "b24-transfer/main";
const IDEMPOTENCY_TABLE = "b24-transfer-idempotency";

/** Reads B24_WEBHOOK_URL, B24_CLIENT_ID, LOCAL_SECRETS_EXTENSION and SKIP_BUILD from `env`; sets the function's variables. */
export async function startLocalEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<LocalEnvironment> {
  const realWebhook = env.B24_WEBHOOK_URL || undefined;
  quietConsole();
  const secret = JSON.stringify({ webhookUrl: realWebhook, clientId: env.B24_CLIENT_ID });
  // The function's own rule, checked before anything starts: a bad setting is refused here, not on
  // every request. Plain http is accepted on loopback (another simulator), as `npm run doctor` does.
  // The URL first, so a wrong URL is named before a missing client id.
  if (realWebhook) checkWebhookSetting(JSON.stringify({ webhookUrl: realWebhook, clientId: "-" }));
  if (realWebhook && !env.B24_CLIENT_ID) throw new LocalSettingError(MISSING_CLIENT_ID_SETTING);
  // The test suite builds once up front and sets SKIP_BUILD, so no test reads a half-written bundle.
  const outdir = env.SKIP_BUILD === "true" ? LAMBDA_ENTRIES.transfer.outdir : await bundleLambda("transfer");
  const simulator = realWebhook ? undefined : await startSimulator();
  const aws = await startLocalAws();
  aws.put(
    SECRET_ID,
    realWebhook
      ? secret
      : // The simulator's demo webhook registered its bot with this CLIENT_ID.
        JSON.stringify({
          webhookUrl: simulator?.webhookUrl(),
          clientId: env.B24_CLIENT_ID || DEMO_BOT.clientId,
        }),
  );
  // Idempotency-Key works locally too: dynalite is a real DynamoDB implementation in this process.
  const dynamo = await startDynamo(IDEMPOTENCY_TABLE);
  const extension =
    env.LOCAL_SECRETS_EXTENSION === "true"
      ? await startLocalSecretsExtension({ upstream: aws.url })
      : undefined;
  Object.assign(process.env, aws.env(), {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    IDEMPOTENCY_TABLE,
    FAILURE_QUEUE_URL: aws.queueUrl,
    PORTALS: JSON.stringify({ [LOCAL_PORTAL]: SECRET_ID }),
    DEFAULT_PORTAL: LOCAL_PORTAL,
    ALLOW_HTTP_LOOPBACK: "true",
    ...extension?.env(),
  });

  const { handler } = (await import(pathToFileURL(`${PROJECT_ROOT}/${outdir}/index.mjs`).href)) as {
    handler: BundleHandler;
  };
  return {
    handler,
    simulator,
    aws,
    extension,
    portalDescription: simulator
      ? `the built-in Bitrix24 simulator (${simulator.url})`
      : `the portal at ${describeHost(realWebhook as string)}`,
    close: async () => {
      await Promise.all([aws.close(), dynamo.close(), simulator?.close(), extension?.close()]);
    },
  };
}

/** A setting `npm start` or `npm run invoke` cannot run with; the message names the variable. */
export class LocalSettingError extends Error {}

function checkWebhookSetting(secret: string): void {
  try {
    parseWebhookSecret(secret, { allowHttpLoopback: true });
  } catch (error) {
    const detail = error instanceof TransferError ? error.details.detail : String(error);
    throw new LocalSettingError(
      `B24_WEBHOOK_URL (or B24_CLIENT_ID) cannot be used: ${detail.replace("the portal's ", "").replace(/ \(is the secret.*\)/, "")}. ` +
        "Unset B24_WEBHOOK_URL to use the built-in simulator.",
    );
  }
}

/**
 * What a person reads locally: the AWS SDK's Node-version notice and one EMF metrics document per
 * request would bury the log and ledger lines. Set either variable to see them.
 */
function quietConsole(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
}

export const MISSING_CLIENT_ID_SETTING =
  "B24_WEBHOOK_URL needs B24_CLIENT_ID: the CLIENT_ID your chat bot was registered with through that webhook (imbot.register). Bitrix24 refuses a webhook's transfer without it (ACCESS_DENIED).";

/** The host only: the URL's path holds the webhook code. */
function describeHost(webhookUrl: string): string {
  try {
    return new URL(webhookUrl).host;
  } catch {
    return "B24_WEBHOOK_URL (not a URL)";
  }
}
