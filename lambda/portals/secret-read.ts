/** Reads a portal's secret from Secrets Manager; its failures become problems with a stable code. */
import { awsErrorName, readSecret, SecretFormatError } from "../aws/secrets-manager.ts";
import { TransferError } from "../domain/problems.ts";
import { type PortalSecret, parsePortalSecret } from "./portal-secret.ts";

export /** Secrets Manager failures become problems: a missing or unreadable secret is a configuration error, the rest is transient. */
async function loadPortalSecret(secretId: string, allowHttpLoopback: boolean): Promise<PortalSecret> {
  let read: { value: string; versionId: string | undefined };
  try {
    read = await readSecret(secretId);
  } catch (error) {
    throw secretsManagerProblem(error);
  }
  return parsePortalSecret(read.value, read.versionId, { allowHttpLoopback });
}

const CONFIGURATION_FAILURES = new Set([
  "ResourceNotFoundException",
  "AccessDeniedException",
  "DecryptionFailure",
  "InvalidRequestException",
  "InvalidParameterException",
]);

function secretsManagerProblem(error: unknown): TransferError {
  if (error instanceof SecretFormatError) {
    return new TransferError("PORTAL_MISCONFIGURED", {
      detail: `the portal's secret is unusable: ${error.message}`,
    });
  }
  const name = error instanceof Error ? error.name : "UnknownError";
  if (CONFIGURATION_FAILURES.has(name)) {
    return new TransferError("PORTAL_MISCONFIGURED", {
      detail: `the portal's secret could not be read (${name}); check that it exists and the function may read it`,
    });
  }
  return new TransferError("CREDENTIALS_UNAVAILABLE", {
    detail: `Secrets Manager failed (${awsErrorName(error)}); try again shortly`,
    retryAfter: 2,
  });
}
