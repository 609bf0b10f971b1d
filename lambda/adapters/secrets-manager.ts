import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

/**
 * Reads secrets with the SDK's default configuration chain (region, credentials, and endpoint such as
 * AWS_ENDPOINT_URL_SECRETS_MANAGER), so tests and tools can point the real client at loopback.
 * The client is created on first use: requests rejected before any secret is needed never pay for it.
 */
let client: SecretsManagerClient | undefined;

export function secretsManagerClient(): SecretsManagerClient {
  client ??= new SecretsManagerClient({});
  return client;
}

export interface SecretValue {
  value: string;
  versionId: string | undefined;
}

export async function readSecret(secretId: string): Promise<SecretValue> {
  const output = await secretsManagerClient().send(new GetSecretValueCommand({ SecretId: secretId }));
  if (output.SecretString === undefined) {
    throw new SecretFormatError("the secret has no string value");
  }
  return { value: output.SecretString, versionId: output.VersionId };
}

export class SecretFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretFormatError";
  }
}
