import { pathToFileURL } from "node:url";
import type { APIGatewayProxyEventV2, APIGatewayRequestAuthorizerEventV2 } from "aws-lambda";
import { bundleLambda, PROJECT_ROOT } from "../infra/bundling.ts";
import { mintClientToken } from "./client-token.ts";
import type { AuthorizerDecision, RequestAuthorizer } from "./local-api.ts";
import type { LocalAws } from "./local-aws.ts";

/**
 * `npm start -- --token-auth`: the real authorizer bundle in front of the local API, as API Gateway runs
 * it with `"authorization": "token"`, and one client with a freshly minted token whose hash is in the
 * loopback client-token secret. Decisions are not cached (API Gateway caches them per token).
 */

export const LOCAL_CLIENT = "local-client";
const SECRET_ID = "b24-transfer/client-tokens";

export interface LocalAuthorizer extends RequestAuthorizer {
  client: string;
  token: string;
}

type AuthorizerHandler = (
  event: APIGatewayRequestAuthorizerEventV2,
) => Promise<{ isAuthorized: boolean; context?: Record<string, unknown> }>;

export async function startLocalAuthorizer(aws: LocalAws): Promise<LocalAuthorizer> {
  const { token, hash } = mintClientToken(LOCAL_CLIENT);
  aws.put(SECRET_ID, JSON.stringify({ [LOCAL_CLIENT]: hash }));
  Object.assign(process.env, { CLIENT_TOKENS_SECRET_ID: SECRET_ID, CLIENTS: JSON.stringify([LOCAL_CLIENT]) });
  const outdir = await bundleLambda("authorizer");
  const { handler } = (await import(pathToFileURL(`${PROJECT_ROOT}/${outdir}/index.mjs`).href)) as {
    handler: AuthorizerHandler;
  };
  return { client: LOCAL_CLIENT, token, decide: (event) => decide(handler, event) };
}

async function decide(
  handler: AuthorizerHandler,
  event: APIGatewayProxyEventV2,
): Promise<AuthorizerDecision> {
  const authorization = event.headers.authorization;
  // The identity source is the Authorization header: without it API Gateway answers 401 on its own.
  if (!authorization) return { allowed: false, status: 401, message: "Unauthorized" };
  const { http } = event.requestContext;
  let result: Awaited<ReturnType<AuthorizerHandler>>;
  try {
    result = await handler({
      ...event,
      type: "REQUEST",
      routeArn: `arn:aws:execute-api:us-east-1:000000000000:local/$default/${http.method}${http.path}`,
      identitySource: [authorization],
    } as APIGatewayRequestAuthorizerEventV2);
  } catch {
    return { allowed: false, status: 500, message: "Internal Server Error" };
  }
  return result.isAuthorized
    ? { allowed: true, context: result.context ?? {} }
    : { allowed: false, status: 403, message: "Forbidden" };
}
