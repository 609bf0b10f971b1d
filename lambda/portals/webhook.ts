/** A webhook portal's connection: its URL and bot, and a re-read of the secret when Bitrix24 refuses it. */
import type { CachedSecret, SecretCache } from "../aws/secret-cache.ts";
import type { PortalConnection, PortalEndpoint } from "./connection.ts";
import type { PortalSecret, WebhookCredentials } from "./portal-secret.ts";

export function webhookConnection(
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
