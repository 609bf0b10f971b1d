import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
} from "aws-lambda";
import { isRecord } from "../domain/is-record.ts";

/** The parts of an API Gateway event (HTTP API 2.0 or REST API 1.0 proxy) the service uses. */
export interface HttpRequest {
  method: string;
  path: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** Query string parameters (a repeated one: its values joined by commas, as HTTP API does). */
  query: Record<string, string>;
  /** Undefined when the body is larger than the limit: it is never decoded. */
  body: Buffer | undefined;
  bodyTooLarge: boolean;
  /** API Gateway's request id, which also appears in its access logs. */
  requestId: string | undefined;
  /**
   * Who called, as API Gateway vouches for it: the client name our Lambda authorizer set, or
   * `iam:<userArn>` under IAM authorization. Headers cannot forge it.
   */
  client: string | undefined;
}

export type HttpEvent = APIGatewayProxyEventV2 | APIGatewayProxyEvent;
export type HttpResult = APIGatewayProxyStructuredResultV2;

export function isHttpApiEvent(event: unknown): event is APIGatewayProxyEventV2 {
  return (
    isRecord(event) &&
    event.version === "2.0" &&
    isRecord(event.requestContext) &&
    isRecord(event.requestContext.http)
  );
}

export function isRestApiEvent(event: unknown): event is APIGatewayProxyEvent {
  return isRecord(event) && typeof event.httpMethod === "string" && isRecord(event.requestContext);
}

export function toHttpRequest(event: HttpEvent, maxBodyBytes: number): HttpRequest {
  const v2 = isHttpApiEvent(event);
  const context = event.requestContext as { requestId?: string; authorizer?: unknown; identity?: unknown };
  const { body, tooLarge } = decodeBody(
    event.body ?? undefined,
    event.isBase64Encoded === true,
    maxBodyBytes,
  );
  return {
    method: v2
      ? (event as APIGatewayProxyEventV2).requestContext.http.method
      : (event as APIGatewayProxyEvent).httpMethod,
    path: v2 ? (event as APIGatewayProxyEventV2).rawPath : (event as APIGatewayProxyEvent).path,
    headers: lowerCaseHeaders(event.headers),
    query: queryParameters(event.queryStringParameters),
    body,
    bodyTooLarge: tooLarge,
    requestId: typeof context.requestId === "string" ? context.requestId : undefined,
    client: authorizerClient(context.authorizer, context.identity),
  };
}

function decodeBody(
  raw: string | undefined,
  base64: boolean,
  maxBytes: number,
): { body: Buffer | undefined; tooLarge: boolean } {
  if (raw === undefined) return { body: undefined, tooLarge: false };
  // Judge by the encoded length first so an oversized body is never decoded (UTF-8 never has fewer bytes than UTF-16 units).
  const encodedLimit = base64 ? Math.ceil(maxBytes / 3) * 4 : maxBytes;
  if (raw.length > encodedLimit) return { body: undefined, tooLarge: true };
  const body = Buffer.from(raw, base64 ? "base64" : "utf8");
  return body.length > maxBytes ? { body: undefined, tooLarge: true } : { body, tooLarge: false };
}

function queryParameters(parameters: Record<string, string | undefined> | null | undefined) {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(parameters ?? {})) {
    if (typeof value === "string") result[name] = value;
  }
  return result;
}

function lowerCaseHeaders(
  headers: Record<string, string | undefined> | null | undefined,
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (typeof value === "string") result[name.toLowerCase()] = value;
  }
  return result;
}

/**
 * HTTP API simple-response authorizers put their context under `lambda`; REST API ones at the top.
 * Under IAM authorization API Gateway puts the signer under `authorizer.iam` (HTTP API) or `identity`
 * (REST API). The "iam:" prefix cannot clash with a client name, which has no colon.
 */
function authorizerClient(authorizer: unknown, identity: unknown): string | undefined {
  if (isRecord(authorizer)) {
    const context = isRecord(authorizer.lambda) ? authorizer.lambda : authorizer;
    if (typeof context.client === "string") return context.client;
    if (isRecord(authorizer.iam) && typeof authorizer.iam.userArn === "string")
      return `iam:${authorizer.iam.userArn}`;
  }
  if (isRecord(identity) && typeof identity.userArn === "string") return `iam:${identity.userArn}`;
  return undefined;
}

export function jsonResult(
  statusCode: number,
  body: unknown,
  contentType = "application/json",
  headers: Record<string, string> = {},
): HttpResult {
  return {
    statusCode,
    headers: { "content-type": contentType, "cache-control": "no-store", ...headers },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}
