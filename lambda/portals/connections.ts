/**
 * A container's portal connections. Secrets are cached per TTL; an OAuth portal's session lives as long
 * as the container, because it may hold the only copy of a renewed token pair.
 */
import { createSecretCache } from "../aws/secret-cache.ts";
import { secretVersions } from "../aws/secret-versions.ts";
import { TransferError } from "../domain/problems.ts";
import { logger } from "../observability/logger.ts";
import type { PortalConnection } from "./connection.ts";
import type { OAuthSecret } from "./oauth/secret.ts";
import { OAuthSession } from "./oauth/session.ts";
import { refreshTokens } from "./oauth/token-endpoint.ts";
import type { PortalSecret } from "./portal-secret.ts";
import { loadPortalSecret } from "./secret-read.ts";
import { webhookConnection } from "./webhook.ts";

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
