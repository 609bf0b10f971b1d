import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";

/**
 * Serves a Lambda handler over HTTP the way an API Gateway HTTP API does: each request becomes a
 * payload 2.0 event, the handler's result becomes the response.
 */
export type LambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

/** What API Gateway answers before the function runs, or the authorizer context the function receives. */
export type AuthorizerDecision =
  | { allowed: true; context: Record<string, unknown> }
  | { allowed: false; status: number; message: string };

/** A Lambda authorizer in front of the handler (scripts/local-authorizer.ts). */
export interface RequestAuthorizer {
  decide(event: APIGatewayProxyEventV2): Promise<AuthorizerDecision>;
}

export interface LocalApi {
  url: string;
  close(): Promise<void>;
}

/** API Gateway's own limit: larger bodies never reach the function. */
const MAX_EVENT_BODY = 10 * 1024 * 1024;

export async function startLocalApi(
  handler: LambdaHandler,
  options: { port?: number; timeoutMs?: number; authorizer?: RequestAuthorizer | undefined } = {},
): Promise<LocalApi> {
  const timeoutMs = options.timeoutMs ?? 28_000;
  const server: Server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      if (body === undefined) {
        res
          .writeHead(413, { "content-type": "application/json" })
          .end('{"message":"Request Entity Too Large"}');
        return;
      }
      const event = toEvent(req, body);
      if (options.authorizer) {
        const decision = await options.authorizer.decide(event);
        if (!decision.allowed) {
          res
            .writeHead(decision.status, { "content-type": "application/json" })
            .end(JSON.stringify({ message: decision.message }));
          return;
        }
        // Where an HTTP API puts a simple-response authorizer's context.
        (event.requestContext as { authorizer?: unknown }).authorizer = { lambda: decision.context };
      }
      const result = (await handler(event, lambdaContext(timeoutMs))) as APIGatewayProxyStructuredResultV2;
      res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
      res.end(result.isBase64Encoded ? Buffer.from(result.body ?? "", "base64") : (result.body ?? ""));
    } catch (error) {
      // What API Gateway answers when the function itself fails.
      console.error("handler threw:", error instanceof Error ? error.name : error);
      res.writeHead(500, { "content-type": "application/json" }).end('{"message":"Internal Server Error"}');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_EVENT_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function toEvent(req: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? "/", "http://local");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const method = req.method ?? "GET";
  const now = new Date();
  const textual = body.length === 0 || /json|text/.test(headers["content-type"] ?? "");
  const event: APIGatewayProxyEventV2 = {
    version: "2.0",
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "127.0.0.1",
      domainPrefix: "local",
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: !textual,
  };
  if (body.length > 0) event.body = textual ? body.toString("utf8") : body.toString("base64");
  return event;
}

/** A Lambda context whose remaining time counts down from `timeoutMs`. */
export function lambdaContext(timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "b24-transfer-local",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:b24-transfer-local",
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: "/aws/lambda/b24-transfer-local",
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
