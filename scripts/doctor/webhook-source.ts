import { readSecret } from "../../lambda/aws/secrets-manager.ts";
import { isRecord } from "../../lambda/domain/is-record.ts";
import { TransferError } from "../../lambda/domain/problems.ts";
import { parseWebhookSecret, type WebhookCredentials } from "../../lambda/portals/portal-secret.ts";
import { isRegionMissing, REGION_ADVICE } from "../aws-region.ts";

/**
 * Where the doctor gets the webhook: a deployed stack's secret (read with the default AWS chain), the
 * PORTALS map the function itself reads, or B24_WEBHOOK_URL as `npm start` takes it. The secret is
 * parsed by the function's own parser, so the doctor refuses exactly what the function would refuse.
 */

export class UsageError extends Error {}

/** A problem with the credentials themselves, explained for a person. */
export class SourceProblem extends Error {}

export type Source =
  | { kind: "secret"; secretId: string; portal: string | undefined }
  | { kind: "environment"; portal: string | undefined };

export interface Webhook {
  credentials: WebhookCredentials;
  /** Safe to print: scheme, host and port. */
  origin: string;
  userId: string;
  /** The secret part of the URL: never printed, and masked wherever it might appear. */
  code: string;
}

/** The value of the secret the stack creates (infra PORTAL_SECRET_PLACEHOLDER) before anyone fills it in. */
export const PLACEHOLDER_WEBHOOK_URL = "REPLACE_ME";

export function chooseSource(
  options: { portal?: string | undefined; secretId?: string | undefined },
  env: NodeJS.ProcessEnv,
): Source {
  const { portal } = options;
  if (options.secretId) return { kind: "secret", secretId: options.secretId, portal };
  if (portal && env.PORTALS) {
    const secretId = portalsMap(env.PORTALS)[portal];
    if (typeof secretId !== "string") {
      throw new UsageError(
        `portal "${portal}" is not in PORTALS (${Object.keys(portalsMap(env.PORTALS)).join(", ")})`,
      );
    }
    return { kind: "secret", secretId, portal };
  }
  if (env.B24_WEBHOOK_URL) return { kind: "environment", portal };
  throw new UsageError(
    portal
      ? `nothing names portal "${portal}"'s webhook: give --secret-id, PORTALS or B24_WEBHOOK_URL`
      : "give the webhook in B24_WEBHOOK_URL, or a deployed portal's secret with --secret-id",
  );
}

function portalsMap(raw: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(raw);
    if (isRecord(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // Reported below.
  }
  throw new UsageError('PORTALS must be a JSON object such as {"main": "<secret id>"}');
}

export function describeSource(source: Source): string {
  const where = source.kind === "secret" ? `Secrets Manager secret ${source.secretId}` : "B24_WEBHOOK_URL";
  return `${source.portal ? `portal "${source.portal}": ` : ""}the webhook in ${where}`;
}

export async function loadWebhook(source: Source, env: NodeJS.ProcessEnv): Promise<Webhook> {
  // Without it the function's parser would ask to add clientId to a secret the user does not have.
  if (source.kind === "environment" && !env.B24_CLIENT_ID) {
    throw new SourceProblem(
      "B24_CLIENT_ID is not set: set B24_CLIENT_ID to the CLIENT_ID the bot was registered with through this webhook (imbot.register)",
    );
  }
  const raw = source.kind === "secret" ? await readSecretValue(source.secretId) : fromEnvironment(env);
  const json = tryJson(raw);
  if (isRecord(json) && json.webhookUrl === PLACEHOLDER_WEBHOOK_URL) {
    throw new SourceProblem(
      "the secret still holds the placeholder the stack created: put the portal's webhook URL in it (docs/deploy.md, step 4)",
    );
  }
  if (isRecord(json) && "oauth" in json) {
    throw new SourceProblem(
      "the secret holds an OAuth application's tokens; the doctor checks incoming webhooks only",
    );
  }
  let credentials: WebhookCredentials;
  try {
    // Plain http only on loopback, where the simulator runs; anything else must be https.
    credentials = parseWebhookSecret(raw, { allowHttpLoopback: true });
  } catch (error) {
    if (error instanceof TransferError) throw new SourceProblem(error.details.detail);
    throw error;
  }
  const url = new URL(credentials.restBase);
  const [, userId = "", code = ""] = url.pathname.split("/").filter(Boolean);
  return { credentials, origin: url.origin, userId, code: decodeURIComponent(code) };
}

function fromEnvironment(env: NodeJS.ProcessEnv): string {
  return JSON.stringify({
    webhookUrl: env.B24_WEBHOOK_URL,
    ...(env.B24_CLIENT_ID ? { clientId: env.B24_CLIENT_ID } : {}),
  });
}

async function readSecretValue(secretId: string): Promise<string> {
  try {
    return (await readSecret(secretId)).value;
  } catch (error) {
    if (isRegionMissing(error)) throw new SourceProblem(`cannot read ${secretId}: ${REGION_ADVICE}`);
    const name = error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : String(error);
    const hint =
      name === "ResourceNotFoundException"
        ? " (check the id, and that AWS_REGION or the profile's region is the stack's)"
        : /credential/i.test(`${name} ${message}`)
          ? " (no AWS credentials: set AWS_PROFILE or sign in)"
          : "";
    // AWS error messages name the secret and the failure, never its value.
    throw new SourceProblem(`Secrets Manager could not read ${secretId}: ${name}: ${message}${hint}`);
  }
}

function tryJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
