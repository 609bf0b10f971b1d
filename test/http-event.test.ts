import { describe, expect, it } from "vitest";
import { isHttpApiEvent, isRestApiEvent, jsonResult, toHttpRequest } from "../lambda/events/api-gateway.ts";
import { httpApiEvent, iamHttpApiEvent, restApiEvent } from "./support/events.ts";

const LIMIT = 16_384;

describe("the API Gateway envelope", () => {
  it("tells HTTP API 2.0 events from REST API 1.0 events", () => {
    expect(isHttpApiEvent(httpApiEvent())).toBe(true);
    expect(isHttpApiEvent(restApiEvent())).toBe(false);
    expect(isRestApiEvent(restApiEvent())).toBe(true);
    expect(isRestApiEvent(httpApiEvent())).toBe(false);
    expect(isHttpApiEvent({ version: "2.0", requestContext: {} })).toBe(false);
    expect(isHttpApiEvent({ version: "1.0", requestContext: { http: {} } })).toBe(false);
    expect(isHttpApiEvent({ version: "2.0", requestContext: "x" })).toBe(false);
    expect(isRestApiEvent({ httpMethod: "POST" })).toBe(false);
    expect(isRestApiEvent({ httpMethod: 1, requestContext: {} })).toBe(false);
    expect(isHttpApiEvent(null)).toBe(false);
    expect(isRestApiEvent(null)).toBe(false);
  });

  it("reads method and path from either kind", () => {
    const v2 = toHttpRequest(httpApiEvent({ method: "PUT", path: "/a/transfers" }), LIMIT);
    expect([v2.method, v2.path]).toEqual(["PUT", "/a/transfers"]);
    const v1 = toHttpRequest(restApiEvent({ method: "PATCH", path: "/b/transfers" }), LIMIT);
    expect([v1.method, v1.path]).toEqual(["PATCH", "/b/transfers"]);
  });

  it("lower-cases header names and drops headers without a string value", () => {
    const event = restApiEvent({ headers: { "Content-Type": "application/json", "X-Empty": null as never } });
    const { headers } = toHttpRequest(event, LIMIT);
    expect(headers["content-type"]).toBe("application/json");
    expect("x-empty" in headers).toBe(false);
    expect(Object.keys(headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(toHttpRequest({ ...restApiEvent(), headers: null as never }, LIMIT).headers).toEqual({});
  });

  /** The client of a REST API request with this authorizer context and IAM signer (by default none). */
  const restApiClient = (authorizer: unknown, userArn: unknown = null) => {
    const event = restApiEvent();
    (event.requestContext as { authorizer: unknown }).authorizer = authorizer;
    (event.requestContext.identity as { userArn: unknown }).userArn = userArn;
    return toHttpRequest(event, LIMIT).client;
  };

  it("takes the client only as a string from the authorizer context, where each API kind puts it", () => {
    expect(toHttpRequest(httpApiEvent({ client: "crm" }), LIMIT).client).toBe("crm");
    expect(restApiClient({ client: "erp" })).toBe("erp");
    expect(restApiClient({ lambda: { client: "crm" }, client: "erp" })).toBe("crm");
    expect(restApiClient({ client: 42 })).toBeUndefined();
    expect(restApiClient("crm")).toBeUndefined();
    expect(restApiClient(undefined)).toBeUndefined();
  });

  it("takes an IAM signer as the client, from where each API kind puts it, only as a string", () => {
    const role = "arn:aws:iam::111122223333:role/crm";
    expect(toHttpRequest(iamHttpApiEvent(role), LIMIT).client).toBe(`iam:${role}`);
    const httpApiSigner = (userArn: unknown) =>
      toHttpRequest(iamHttpApiEvent(userArn as string), LIMIT).client;
    expect(httpApiSigner(null)).toBeUndefined();
    expect(httpApiSigner(42)).toBeUndefined();
    const user = "arn:aws:iam::111122223333:user/ops";
    expect(restApiClient(undefined, user)).toBe(`iam:${user}`);
    expect(restApiClient(undefined, null)).toBeUndefined();
  });

  it("keeps API Gateway's request id only when it is a string", () => {
    const event = restApiEvent();
    (event.requestContext as { requestId: unknown }).requestId = 7;
    expect(toHttpRequest(event, LIMIT).requestId).toBeUndefined();
  });

  it("has no body and nothing too large when no body came", () => {
    expect(toHttpRequest(httpApiEvent({}), LIMIT)).toMatchObject({ body: undefined, bodyTooLarge: false });
  });
});

describe("JSON results", () => {
  it("are never cached and carry the given content type and headers", () => {
    expect(jsonResult(200, { ok: true })).toEqual({
      statusCode: 200,
      headers: { "content-type": "application/json", "cache-control": "no-store" },
      body: '{"ok":true}',
      isBase64Encoded: false,
    });
    expect(jsonResult(503, {}, "application/problem+json", { "retry-after": "2" }).headers).toEqual({
      "content-type": "application/problem+json",
      "cache-control": "no-store",
      "retry-after": "2",
    });
  });
});
