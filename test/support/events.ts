import { readFileSync } from "node:fs";
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from "aws-lambda";

/**
 * Real API Gateway sample events (AWS-written envelopes). Tests change only method, path, headers and
 * body, so the handler is exercised on what API Gateway really sends.
 */
const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../fixtures/events/${name}`, import.meta.url), "utf8")) as T;

export interface HttpEventEdit {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | null;
  base64?: boolean;
  /** Authorizer context, as our Lambda authorizer sets it. */
  client?: string;
}

const JSON_HEADERS = { "content-type": "application/json" };

export function httpApiEvent(edit: HttpEventEdit = {}): APIGatewayProxyEventV2 {
  const event = fixture<APIGatewayProxyEventV2>("apigw-http-v2__post-json-body__powertools-docs.json");
  const method = edit.method ?? "POST";
  const path = edit.path ?? "/transfers";
  event.routeKey = `${method} /transfers`;
  event.rawPath = path;
  event.requestContext.routeKey = event.routeKey;
  event.requestContext.http.method = method;
  event.requestContext.http.path = path;
  event.headers = { ...event.headers, ...(edit.headers ?? JSON_HEADERS) };
  if (edit.client !== undefined) {
    (event.requestContext as unknown as { authorizer: unknown }).authorizer = {
      lambda: { client: edit.client },
    };
  }
  setBody(event, edit);
  return event;
}

/** An HTTP API request signed with SigV4, as API Gateway delivers it under IAM authorization. */
export function iamHttpApiEvent(userArn: string, edit: HttpEventEdit = {}): APIGatewayProxyEventV2 {
  const event = httpApiEvent(edit);
  const sample = fixture<APIGatewayProxyEventV2>("apigw-http-v2__iam-authorizer__powertools-python.json");
  const { iam } = (sample.requestContext as unknown as { authorizer: { iam: Record<string, unknown> } })
    .authorizer;
  (event.requestContext as unknown as { authorizer: unknown }).authorizer = { iam: { ...iam, userArn } };
  return event;
}

export function restApiEvent(edit: HttpEventEdit = {}): APIGatewayProxyEvent {
  const event = fixture<APIGatewayProxyEvent>("apigw-request.json");
  event.httpMethod = edit.method ?? "POST";
  event.path = edit.path ?? "/transfers";
  event.resource = "/transfers";
  const headers = { ...(edit.headers ?? { "Content-Type": "application/json" }) };
  const base = Object.fromEntries(
    Object.entries(event.headers).filter(([name]) => name.toLowerCase() !== "content-type"),
  );
  event.headers = { ...base, ...headers };
  event.multiValueHeaders = Object.fromEntries(
    Object.entries(event.headers).map(([k, v]) => [k, [v as string]]),
  );
  setBody(event, edit);
  return event;
}

function setBody(event: { body?: string | null; isBase64Encoded?: boolean }, edit: HttpEventEdit): void {
  if (edit.body === undefined) delete event.body;
  else if (edit.body === null) event.body = null;
  else event.body = edit.base64 ? Buffer.from(edit.body, "utf8").toString("base64") : edit.body;
  event.isBase64Encoded = edit.base64 === true;
}
