import { exchange, parseJsonObject } from "../bitrix24/http-exchange.ts";

/**
 * The AWS Parameters and Secrets Lambda Extension (an AWS-managed layer): it answers GetSecretValue on
 * localhost from its own cache, so a cold start reads a secret with one loopback request instead of
 * loading and initialising the AWS SDK. Documented interface: `GET /secretsmanager/get?secretId=…` on
 * PARAMETERS_SECRETS_EXTENSION_HTTP_PORT (2773), header X-Aws-Parameters-Secrets-Token = AWS_SESSION_TOKEN,
 * answer = the GetSecretValue JSON; it caches each secret for SECRETS_MANAGER_TTL seconds (300, at most 300).
 */
export interface SecretsExtension {
  port: number;
  token: string;
  /** How long the extension may answer a secret from its cache. */
  cacheTtlMs: number;
}

/** Configured only when the layer's port is set (infra sets it with the layer) and a session token exists. */
export function secretsExtensionFromEnv(env: NodeJS.ProcessEnv = process.env): SecretsExtension | undefined {
  const port = Number(env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT);
  const token = env.AWS_SESSION_TOKEN;
  if (!Number.isInteger(port) || port < 1 || port > 65535 || !token) return undefined;
  const cached = env.PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED !== "false";
  const ttlSeconds = Number(env.SECRETS_MANAGER_TTL ?? 300);
  const cacheTtlMs = cached ? Math.min(Number.isFinite(ttlSeconds) ? ttlSeconds : 300, 300) * 1000 : 0;
  return { port, token, cacheTtlMs };
}

export class SecretsExtensionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretsExtensionError";
  }
}

export interface ExtensionSecret {
  secretString: string | undefined;
  versionId: string | undefined;
}

/** Waits for the extension's own Secrets Manager call on a cache miss, but not for a hung extension. */
const TIMEOUT_MS = 3000;
/** A secret string is at most 64 KiB; the JSON around it adds little. */
const MAX_BYTES = 256 * 1024;

export async function readThroughExtension(
  extension: SecretsExtension,
  secretId: string,
): Promise<ExtensionSecret> {
  const url = new URL(`http://localhost:${extension.port}/secretsmanager/get`);
  url.searchParams.set("secretId", secretId);
  const answer = await exchange({
    method: "GET",
    url,
    headers: { "X-Aws-Parameters-Secrets-Token": extension.token },
    timeoutMs: TIMEOUT_MS,
    maxBytes: MAX_BYTES,
  });
  // The body of an error answer is not repeated: the caller falls back to the SDK, whose error is typed.
  if (answer.status !== 200) throw new SecretsExtensionError(`the extension answered ${answer.status}`);
  const output = parseJsonObject(answer.text);
  if (!output) throw new SecretsExtensionError("the extension's answer is not a JSON object");
  return {
    secretString: typeof output.SecretString === "string" ? output.SecretString : undefined,
    versionId: typeof output.VersionId === "string" ? output.VersionId : undefined,
  };
}
