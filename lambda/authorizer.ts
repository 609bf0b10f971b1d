/**
 * HTTP API Lambda authorizer (payload 2.0, simple responses). A caller is authorized when the SHA-256
 * of its bearer token equals the hash stored for an enabled client; the client name is passed on as
 * `requestContext.authorizer.lambda.client` for the transfer function's logs. The token is never logged.
 */
import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerResult,
  APIGatewaySimpleAuthorizerWithContextResult,
  Context,
} from "aws-lambda";
import { readBearerToken } from "./auth/bearer-token.ts";
import { type ClientTokenTable, findClient, parseClientTokens } from "./auth/client-tokens.ts";
import { createSecretCache } from "./aws/secret-cache.ts";
import { readSecret } from "./aws/secrets-manager.ts";
import { seconds } from "./config.ts";
import { logger } from "./observability/logger.ts";

export interface AuthorizerContext {
  client: string;
}

export type AuthorizerResult =
  | APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>
  | APIGatewaySimpleAuthorizerResult;

export interface AuthorizerSettings {
  secretId: string;
  enabledClients: readonly string[];
  secretCacheTtlMs: number;
}

const DENY: APIGatewaySimpleAuthorizerResult = { isAuthorized: false };

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): AuthorizerSettings {
  const secretId = env.CLIENT_TOKENS_SECRET_ID;
  if (!secretId) throw new Error("CLIENT_TOKENS_SECRET_ID is not set");
  const enabledClients: unknown = JSON.parse(env.CLIENTS ?? "[]");
  if (!Array.isArray(enabledClients) || !enabledClients.every((name) => typeof name === "string")) {
    throw new Error("CLIENTS must be a JSON array of client names");
  }
  return { secretId, enabledClients, secretCacheTtlMs: seconds(env, "SECRET_CACHE_TTL_SECONDS", 300) * 1000 };
}

export function createAuthorizer({ secretId, enabledClients, secretCacheTtlMs }: AuthorizerSettings) {
  const tokens = createSecretCache<ClientTokenTable>({
    ttlMs: secretCacheTtlMs,
    load: async (id) => {
      const table = parseClientTokens((await readSecret(id)).value, enabledClients);
      for (const { client, reason } of table.ignored) {
        logger.warn("client-token entry ignored", { client, reason });
      }
      return table;
    },
  });

  return async function authorize(event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> {
    // Joins these lines to the API access log entry.
    const apiRequestId = event.requestContext?.requestId;
    const bearer = readBearerToken(event.headers);
    if (!bearer.ok) {
      logger.info("request rejected", { apiRequestId, reason: `${bearer.reason} bearer token` });
      return DENY;
    }
    let table: ClientTokenTable;
    try {
      table = (await tokens.get(secretId)).value;
    } catch (error) {
      // Failing the invocation makes API Gateway answer 500, which is not cached, rather than a cached 403.
      logger.error("client tokens unavailable", {
        apiRequestId,
        errorName: (error as Error | undefined)?.name,
      });
      throw new Error("client tokens unavailable");
    }
    const client = findClient(table, bearer.token);
    if (client === undefined) {
      logger.info("request rejected", { apiRequestId, reason: "unknown or revoked token" });
      return DENY;
    }
    logger.info("request authorized", { apiRequestId, client });
    return { isAuthorized: true, context: { client } };
  };
}

let authorize: ReturnType<typeof createAuthorizer> | undefined;

export async function handler(event: APIGatewayRequestAuthorizerEventV2, context?: Context) {
  if (context) logger.addContext(context);
  authorize ??= createAuthorizer(settingsFromEnv());
  return authorize(event);
}
