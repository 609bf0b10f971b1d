import { callMethod } from "./adapters/bitrix24-client.ts";
import { parseWebhookSecret, type WebhookCredentials } from "./adapters/portal-credentials.ts";
import { createSecretCache } from "./adapters/secret-cache.ts";
import { readSecret, SecretFormatError } from "./adapters/secrets-manager.ts";
import type { ServiceConfig } from "./config.ts";
import { TransferError } from "./domain/problems.ts";
import {
  confirmTransfer,
  isCredentialsError,
  TRANSFER_METHOD,
  type TransferResult,
  transferParams,
} from "./domain/transfer.ts";
import type { TransferRequest } from "./domain/transfer-request.ts";

export interface TransferOutcome {
  result: TransferResult;
  attempts: number;
}

export interface TransferService {
  /** Resolves the portal first, so an unknown portal fails before any secret is read. */
  portalFor(request: TransferRequest): string;
  transfer(request: TransferRequest, deadline: number): Promise<TransferOutcome>;
}

/**
 * Orchestrates one transfer: portal → credentials (cached) → Bitrix24 → confirmation. A credentials
 * error re-reads the secret once, so a webhook rotated in Secrets Manager recovers without a redeploy.
 */
export function createTransferService(config: ServiceConfig): TransferService {
  const credentials = createSecretCache<WebhookCredentials>({
    ttlMs: config.secretCacheTtlMs,
    load: (secretId) => loadCredentials(secretId, config.allowHttpLoopback),
  });

  const portalFor = (request: TransferRequest): string => {
    const portal = request.portal ?? config.defaultPortal;
    if (portal === undefined) {
      throw new TransferError("UNKNOWN_PORTAL", {
        detail: `no default portal is configured; name one of: ${[...config.portals.keys()].join(", ")}`,
      });
    }
    if (!config.portals.has(portal)) {
      throw new TransferError("UNKNOWN_PORTAL", { detail: `portal "${portal}" is not configured` });
    }
    return portal;
  };

  return {
    portalFor,
    async transfer(request, deadline) {
      const portal = portalFor(request);
      const secretId = config.portals.get(portal) as string;
      const call = (creds: WebhookCredentials) =>
        callMethod(creds.restBase, TRANSFER_METHOD, transferParams(request, creds), {
          deadline,
          attemptTimeoutMs: config.attemptTimeoutMs,
        });

      const cached = await credentials.get(secretId);
      let attempts = 0;
      let outcome: Awaited<ReturnType<typeof call>>;
      try {
        outcome = await call(cached.value);
      } catch (error) {
        if (!isCredentialsError(error)) throw error;
        attempts = (error as TransferError).details.attempts ?? 1;
        const fresh = await credentials.refresh(secretId, cached);
        // Unchanged credentials would fail the same way: report the first error, not a second call.
        if (fresh.value.restBase === cached.value.restBase) throw error;
        outcome = await call(fresh.value);
      }
      return {
        result: confirmTransfer(outcome.result, request, portal),
        attempts: attempts + outcome.attempts,
      };
    },
  };
}

/** Secrets Manager failures become problems: a missing or unreadable secret is a configuration error, the rest is transient. */
async function loadCredentials(secretId: string, allowHttpLoopback: boolean): Promise<WebhookCredentials> {
  let raw: string;
  try {
    raw = (await readSecret(secretId)).value;
  } catch (error) {
    throw secretsManagerProblem(error);
  }
  return parseWebhookSecret(raw, { allowHttpLoopback });
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
    detail: `Secrets Manager failed (${/^[A-Za-z]+$/.test(name) ? name : "error"}); try again shortly`,
    retryAfter: 2,
  });
}
