import { describe, expect, it } from "vitest";
import { TransferError } from "../lambda/domain/problems.ts";
import { toHttpRequest } from "../lambda/events/api-gateway.ts";
import { MAX_BODY_BYTES, readHttpTransferRequest } from "../lambda/handlers/http/read-request.ts";
import { type HttpEventEdit, httpApiEvent, restApiEvent } from "./support/events.ts";

const read = (edit: HttpEventEdit, rest = false) =>
  readHttpTransferRequest(toHttpRequest(rest ? restApiEvent(edit) : httpApiEvent(edit), MAX_BODY_BYTES));

function codeOf(edit: HttpEventEdit, rest = false): string {
  try {
    read(edit, rest);
  } catch (error) {
    if (error instanceof TransferError) return error.code;
    throw error;
  }
  return "accepted";
}

const body = JSON.stringify({ chatId: 112, operatorId: 12 });

describe("reading an HTTP transfer request", () => {
  it.each([false, true])("reads a JSON body (REST API: %s)", (rest) => {
    expect(read({ body }, rest)).toEqual({
      kind: "single",
      request: { chatId: 112, target: { operatorId: 12 }, leave: false },
    });
  });

  it.each([false, true])("decodes a base64 body (REST API: %s)", (rest) => {
    expect(read({ body, base64: true }, rest)).toMatchObject({ request: { chatId: 112 } });
  });

  it("accepts a charset parameter and +json media types", () => {
    expect(codeOf({ body, headers: { "content-type": "application/json; charset=utf-8" } })).toBe("accepted");
    expect(codeOf({ body, headers: { "Content-Type": "Application/JSON" } })).toBe("accepted");
    expect(codeOf({ body, headers: { "content-type": "application/vnd.api+json" } })).toBe("accepted");
  });

  it.each([
    [
      "a form body",
      { body, headers: { "content-type": "application/x-www-form-urlencoded" } },
      "UNSUPPORTED_MEDIA_TYPE",
    ],
    ["text/plain", { body, headers: { "content-type": "text/plain" } }, "UNSUPPORTED_MEDIA_TYPE"],
    ["no content type", { body, headers: {} }, "UNSUPPORTED_MEDIA_TYPE"],
    [
      "a JSON look-alike type",
      { body, headers: { "content-type": "application/jsonx" } },
      "UNSUPPORTED_MEDIA_TYPE",
    ],
    ["no body", {}, "INVALID_JSON"],
    ["a null body", { body: null }, "INVALID_JSON"],
    ["broken JSON", { body: '{"chatId": 1,' }, "INVALID_JSON"],
    [
      "invalid UTF-8",
      { body: Buffer.from([0x7b, 0xff, 0x7d]).toString("base64"), base64: true },
      "INVALID_JSON",
    ],
    ["a schema violation", { body: '{"chatId": "abc"}' }, "VALIDATION_FAILED"],
    ["a GET", { method: "GET", body }, "METHOD_NOT_ALLOWED"],
    ["another path", { path: "/transfer", body }, "NOT_FOUND"],
  ] satisfies [string, HttpEventEdit, string][])("answers %s with %s", (_name, edit, code) => {
    expect(codeOf(edit)).toBe(code);
    expect(codeOf(edit, true)).toBe(code);
  });

  it("tells a missing body from one that is not JSON", () => {
    expect(() => read({})).toThrow("the body is empty; send JSON");
    expect(() => read({ body: "" })).toThrow("the body is not valid JSON");
    expect(() => read({ body: "{" }, true)).toThrow("the body is not valid JSON");
  });

  it("takes the path under a stage prefix", () => {
    expect(codeOf({ path: "/prod/transfers", body })).toBe("accepted");
  });

  it("limits the decoded body to 16 KiB, before and after base64", () => {
    const padded = (size: number) => JSON.stringify({ chatId: 1, operatorId: 1 }).padEnd(size, " ");
    expect(codeOf({ body: padded(MAX_BODY_BYTES) })).toBe("accepted");
    expect(codeOf({ body: padded(MAX_BODY_BYTES + 1) })).toBe("PAYLOAD_TOO_LARGE");
    expect(codeOf({ body: padded(MAX_BODY_BYTES), base64: true })).toBe("accepted");
    expect(codeOf({ body: padded(MAX_BODY_BYTES + 1), base64: true })).toBe("PAYLOAD_TOO_LARGE");
    // Multi-byte characters count as bytes, not characters.
    expect(codeOf({ body: `{"chatId":1,"operatorId":1,"x":"${"é".repeat(MAX_BODY_BYTES / 2)}"}` })).toBe(
      "PAYLOAD_TOO_LARGE",
    );
  });
});

describe("the HTTP envelope", () => {
  it("takes the caller's name only from the authorizer context, never from headers", () => {
    const event = httpApiEvent({
      body,
      client: "crm",
      headers: { "content-type": "application/json", "x-client": "evil" },
    });
    expect(toHttpRequest(event, MAX_BODY_BYTES).client).toBe("crm");
    expect(
      toHttpRequest(
        httpApiEvent({ body, headers: { "content-type": "application/json", client: "evil" } }),
        MAX_BODY_BYTES,
      ).client,
    ).toBe(undefined);
  });

  it("carries API Gateway's request id", () => {
    expect(toHttpRequest(httpApiEvent({ body }), MAX_BODY_BYTES).requestId).toBe("ZhNHJhhLjoEEPiw=");
  });
});

describe("the edges of an HTTP transfer request", () => {
  it("allows 16 KiB bodies: 16,384 bytes and not one more", () => {
    expect(MAX_BODY_BYTES).toBe(16_384);
  });

  it("refuses invalid UTF-8 even where lenient decoding would yield valid JSON", () => {
    // With a lenient decoder, 0xff inside a string becomes U+FFFD and the JSON parses. The bytes go into
    // the event as they are (the events helper would base64-encode the text a second time).
    const raw = (bytes: Buffer) => {
      const event = httpApiEvent({ body: "" });
      event.body = bytes.toString("base64");
      event.isBase64Encoded = true;
      return toHttpRequest(event, MAX_BODY_BYTES);
    };
    const json = (portal: Buffer) =>
      Buffer.concat([Buffer.from('{"chatId":1,"operatorId":1,"portal":"'), portal, Buffer.from('"}')]);
    expect(readHttpTransferRequest(raw(json(Buffer.from("main"))))).toMatchObject({ kind: "single" });
    expect(() => readHttpTransferRequest(raw(json(Buffer.from([0xff]))))).toThrow(/INVALID_JSON/);
    expect(() => readHttpTransferRequest(raw(Buffer.from([0x7b, 0xff, 0x7d])))).toThrow(/INVALID_JSON/);
  });

  describe.each([
    ["HTTP API", false],
    ["REST API", true],
  ])("a body that is not UTF-8 (%s event)", (_kind, rest) => {
    const latin1 = Buffer.from('{"chatId":112,"operatorId":12,"message":"caf\xe9"}', "latin1");
    const detailOf = (edit: HttpEventEdit) => {
      try {
        read(edit, rest);
      } catch (error) {
        if (error instanceof TransferError) return `${error.code}: ${error.details.detail}`;
        throw error;
      }
      return "accepted";
    };

    it("base64 (the bytes as sent): INVALID_JSON", () => {
      const event = rest ? restApiEvent({ body: "" }) : httpApiEvent({ body: "" });
      event.body = latin1.toString("base64");
      event.isBase64Encoded = true;
      expect(() => readHttpTransferRequest(toHttpRequest(event, MAX_BODY_BYTES))).toThrow(
        "the body is not valid UTF-8 (U+FFFD stands for bytes that could not be decoded); send UTF-8",
      );
    });

    it("plain text (decoded on the way, the byte replaced by U+FFFD): INVALID_JSON, also when base64 again", () => {
      const replaced = latin1.toString("utf8");
      expect(replaced).toContain("\uFFFD");
      const expected =
        "INVALID_JSON: the body is not valid UTF-8 (U+FFFD stands for bytes that could not be decoded); send UTF-8";
      expect(detailOf({ body: replaced })).toBe(expected);
      expect(detailOf({ body: replaced, base64: true })).toBe(expected);
    });

    it("accepts UTF-8 text, and U+FFFD the caller wrote as a JSON escape", () => {
      expect(detailOf({ body: '{"chatId":112,"operatorId":12,"message":"café"}' })).toBe("accepted");
      expect(detailOf({ body: '{"chatId":112,"operatorId":12,"message":"café"}', base64: true })).toBe(
        "accepted",
      );
      expect(read({ body: '{"chatId":112,"operatorId":12,"message":"\\ufffd"}' }, rest)).toMatchObject({
        request: { message: "\uFFFD" },
      });
    });
  });

  it.each([
    ["/transfers", "accepted"],
    ["/transfers/", "accepted"],
    ["transfers", "accepted"],
    ["/prod/transfers/", "accepted"],
    ["/transfersX", "NOT_FOUND"],
    ["/xtransfers", "NOT_FOUND"],
    ["/transfers//", "NOT_FOUND"],
    ["/transfers/1", "NOT_FOUND"],
  ])("finds the resource at %s: %s", (path, code) => {
    expect(codeOf({ path, body })).toBe(code);
  });

  it("answers an unknown path with NOT_FOUND whatever the method", () => {
    expect(codeOf({ path: "/other", method: "GET", body })).toBe("NOT_FOUND");
  });

  it.each([
    ["application/json ; charset=utf-8", "accepted"],
    ["application/problem+json", "accepted"],
    ["application/a.b-c_d+json", "accepted"],
    ["xapplication/json", "UNSUPPORTED_MEDIA_TYPE"],
    ["application/json+x", "UNSUPPORTED_MEDIA_TYPE"],
    ["application/+json", "UNSUPPORTED_MEDIA_TYPE"],
    ["application/a b+json", "UNSUPPORTED_MEDIA_TYPE"],
    ["application/vnd+jsonx", "UNSUPPORTED_MEDIA_TYPE"],
    ["text/json", "UNSUPPORTED_MEDIA_TYPE"],
  ])("judges the media type %s: %s", (contentType, code) => {
    expect(codeOf({ body, headers: { "content-type": contentType } })).toBe(code);
  });

  it("checks the media type before the body size and the body", () => {
    expect(codeOf({ body: "x".repeat(MAX_BODY_BYTES + 1), headers: { "content-type": "text/plain" } })).toBe(
      "UNSUPPORTED_MEDIA_TYPE",
    );
    expect(codeOf({ body: "x".repeat(MAX_BODY_BYTES + 1) })).toBe("PAYLOAD_TOO_LARGE");
  });
});

describe("what a refused media type says", () => {
  const detail = (headers: Record<string, string>) => {
    try {
      read({ body, headers });
    } catch (error) {
      if (error instanceof TransferError) return error.details.detail;
      throw error;
    }
    throw new Error("expected the request to be refused");
  };

  it("asks for JSON, quoting at most 80 characters of what came", () => {
    expect(detail({})).toBe("send Content-Type: application/json");
    expect(detail({ "content-type": "text/plain" })).toBe(
      "content type text/plain is not supported; send application/json",
    );
    expect(detail({ "content-type": `text/${"x".repeat(200)}` })).toBe(
      `content type text/${"x".repeat(75)} is not supported; send application/json`,
    );
  });
});
