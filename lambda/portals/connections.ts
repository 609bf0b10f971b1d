import { TransferError } from "../domain/problems.ts";
import type { PortalAccess } from "../bitrix24/methods.ts";
import { type CallOptions, type CallResult, callMethod } from "../bitrix24/client.ts";
import { logger } from "../observability/logger.ts";
import type { OAuthSecret } from "./oauth/secret.ts";
import { OAuthSession } from "./oauth/session.ts";
import { refreshTokens } from "./oauth/token-endpoint.ts";
import { type PortalSecret, parsePortalSecret, type WebhookCredentials } from "./portal-secret.ts";
import { type CachedSecret, createSecretCache, type SecretCache } from "../aws/secret-cache.ts";
import { secretVersions } from "../aws/secret-versions.ts";
import { readSecret, SecretFormatError } from "../aws/secrets-manager.ts";

/** Where and as whom one call goes. `restBase` and `auth` are secrets: never logged or returned. */
export interface PortalEndpoint {
  /** `https://<portal>/rest/<user>/<code>/` for a webhook, `https://<portal>/rest/` for an application. */
  restBase: string;
  /** An application's access token, sent as the `auth` parameter; absent for webhooks. */
  auth?: string;
  access: PortalAccess;
}

/**
 * A portal's credentials, webhook or OAuth application, behind one seam: what to call with, and what
 * to do when Bitrix24 refuses it.
 */
export interface PortalConnection {
  /** Credentials for the next call; an application renews a token about to expire first. */
  endpoint(deadline: number): Promise<PortalEndpoint>;
  /**
   * After Bitrix24 refused `used` with a credentials error: credentials worth exactly one more call,
   * or undefined when they would fail the same way.
   */
  recover(used: PortalEndpoint, error: TransferError, deadline: number): Promise<PortalEndpoint | undefined>;
}

export interface PortalConnectionsOptions {
  /** Portal name → secret id. */
  portals: ReadonlyMap<string, string>;
  /** Portals whose secret the function may rewrite; only these may hold OAuth tokens. */
  oauthPortals: ReadonlySet<string>;
  secretCacheTtlMs: number;
  allowHttpLoopback: boolean;
  oauthTokenUrl: string;
  attemptTimeoutMs: number;
}

export interface PortalConnections {
  get(portal: string): Promise<PortalConnection>;
  /** Reads the portal's secret ahead of need (INIT); a failure is forgotten, so the first request reads again. */
  prepare(portal: string): Promise<void>;
}

export function callEndpoint(
  endpoint: PortalEndpoint,
  method: string,
  params: Record<string, unknown>,
  options: CallOptions,
): Promise<CallResult> {
  const withAuth = endpoint.auth === undefined ? params : { ...params, auth: endpoint.auth };
  return callMethod(endpoint.restBase, method, withAuth, options);
}

/**
 * A container's connections. Secrets are cached per TTL; an OAuth portal's session lives as long as
 * the container, because it may hold the only copy of a renewed token pair.
 */
export function createPortalConnections(options: PortalConnectionsOptions): PortalConnections {
  const load = (secretId: string) => loadPortalSecret(secretId, options.allowHttpLoopback);
  const cache = createSecretCache<PortalSecret>({ ttlMs: options.secretCacheTtlMs, load });
  const sessions = new Map<string, OAuthSession>();
  const warnedBotId = new Set<string>();

  const sessionFor = (portal: string, secretId: string, initial: OAuthSecret): OAuthSession => {
    let session = sessions.get(secretId);
    if (!session) {
      session = new OAuthSession({
        portal,
        secretId,
        initial,
        read: async () => {
          const fresh = await load(secretId);
          if (fresh.kind !== "oauth") {
            throw new TransferError("PORTAL_MISCONFIGURED", {
              detail: "the portal's secret no longer holds OAuth tokens",
            });
          }
          return fresh.oauth;
        },
        versions: secretVersions,
        refresh: (grant, deadline) =>
          refreshTokens(options.oauthTokenUrl, grant, {
            deadline,
            attemptTimeoutMs: options.attemptTimeoutMs,
          }),
        allowHttpLoopback: options.allowHttpLoopback,
      });
      sessions.set(secretId, session);
    }
    return session;
  };

  return {
    async prepare(portal) {
      try {
        await this.get(portal);
      } catch {
        cache.forgetFailure(options.portals.get(portal) as string);
      }
    },
    async get(portal) {
      const secretId = options.portals.get(portal) as string;
      const cached = await cache.get(secretId);
      const secret = cached.value;
      if (secret.kind === "webhook") {
        forgetSession(sessions, secretId, portal);
        if (secret.credentials.obsoleteBotId && !warnedBotId.has(secretId)) {
          warnedBotId.add(secretId);
          logger.warn(
            'the portal\'s secret has "botId", which has no effect: Bitrix24 picks the bot by "clientId"; remove botId',
            { portal },
          );
        }
        return webhookConnection(secretId, cached, secret.credentials, cache);
      }
      if (!options.oauthPortals.has(portal)) {
        throw new TransferError("PORTAL_MISCONFIGURED", {
          detail: `the portal's secret holds OAuth tokens, but portal "${portal}" is not configured as an OAuth portal, so renewed tokens could not be saved`,
        });
      }
      const session = sessionFor(portal, secretId, secret.oauth);
      session.offer(secret.oauth);
      return session;
    },
  };
}

/** The secret went back to a webhook: the session is no longer needed. */
function forgetSession(sessions: Map<string, OAuthSession>, secretId: string, portal: string): void {
  const session = sessions.get(secretId);
  if (!session) return;
  sessions.delete(secretId);
  if (session.unsaved) {
    logger.warn("the portal's secret now holds a webhook; dropping unsaved OAuth tokens", { portal });
  }
}

function webhookConnection(
  secretId: string,
  cached: CachedSecret<PortalSecret>,
  credentials: WebhookCredentials,
  cache: SecretCache<PortalSecret>,
): PortalConnection {
  return {
    endpoint: async () => webhookEndpoint(credentials),
    async recover(used) {
      // A webhook rotated in Secrets Manager recovers without a redeploy.
      const fresh = await cache.refresh(secretId, cached);
      if (fresh.value.kind !== "webhook" || fresh.value.credentials.restBase === used.restBase)
        return undefined;
      return webhookEndpoint(fresh.value.credentials);
    },
  };
}

function webhookEndpoint(credentials: WebhookCredentials): PortalEndpoint {
  return { restBase: credentials.restBase, access: { clientId: credentials.clientId } };
}

/** Secrets Manager failures become problems: a missing or unreadable secret is a configuration error, the rest is transient. */
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
    detail: `Secrets Manager failed (${/^[A-Za-z]+$/.test(name) ? name : "error"}); try again shortly`,
    retryAfter: 2,
  });
}
