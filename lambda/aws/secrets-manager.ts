import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { readThroughExtension, type SecretsExtension, secretsExtensionFromEnv } from "./secrets-extension.ts";

type Sdk = typeof import("@aws-sdk/client-secrets-manager");

/**
 * Reads secrets through the Parameters and Secrets Lambda Extension when the function has it, and
 * otherwise (local runs, tests, tools, or an extension that fails) with the AWS SDK and its default
 * configuration chain (region, credentials, and endpoint such as AWS_ENDPOINT_URL_SECRETS_MANAGER).
 * The SDK is imported on first use, so a cold start served by the extension never loads it.
 */
let sdk: Promise<{ sdk: Sdk; client: SecretsManagerClient }> | undefined;

export function secretsManager(): Promise<{ sdk: Sdk; client: SecretsManagerClient }> {
  sdk ??= import("@aws-sdk/client-secrets-manager").then(
    (loaded) => ({ sdk: loaded, client: new loaded.SecretsManagerClient({}) }),
    (error: unknown) => {
      sdk = undefined;
      throw error;
    },
  );
  return sdk;
}

export interface SecretValue {
  value: string;
  versionId: string | undefined;
}

/** When each secret was last read through the extension (ms since the epoch). */
const readThroughExtensionAt = new Map<string, number>();

export async function readSecret(secretId: string, now: () => number = Date.now): Promise<SecretValue> {
  const extension = secretsExtensionFromEnv();
  if (extension && !mayBeCachedByExtension(extension, secretId, now())) {
    try {
      const read = await readThroughExtension(extension, secretId);
      readThroughExtensionAt.set(secretId, now());
      return secretValue(read.secretString, read.versionId);
    } catch (error) {
      if (error instanceof SecretFormatError) throw error;
      // An extension that is missing, not ready or failing: the SDK reads the secret and reports a typed error.
    }
  }
  const { sdk, client } = await secretsManager();
  const output = await client.send(new sdk.GetSecretValueCommand({ SecretId: secretId }));
  return secretValue(output.SecretString, output.VersionId);
}

/**
 * A second read of a secret within the extension's cache TTL can only return what the extension
 * already gave: such a read is a forced refresh (an authentication error, an OAuth conflict) and goes
 * to Secrets Manager itself. A read after the TTL gets a fresh value from the extension too.
 */
function mayBeCachedByExtension(extension: SecretsExtension, secretId: string, at: number): boolean {
  const last = readThroughExtensionAt.get(secretId);
  return last !== undefined && at - last < extension.cacheTtlMs;
}

function secretValue(value: string | undefined, versionId: string | undefined): SecretValue {
  if (value === undefined) throw new SecretFormatError("the secret has no string value");
  return { value, versionId };
}

export class SecretFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretFormatError";
  }
}

/** An AWS error's name (ThrottlingException…), safe to log: only letters, else "error". Messages can quote ids. */
export function awsErrorName(error: unknown): string {
  return error instanceof Error && /^[A-Za-z]{1,64}$/.test(error.name) ? error.name : "error";
}
