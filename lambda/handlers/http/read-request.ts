import { firstDuplicateKey } from "../../domain/duplicate-keys.ts";
import { TransferError } from "../../domain/problems.ts";
import { requireTransferInput, type TransferInput } from "../../domain/transfer-request.ts";
import type { HttpRequest } from "../../events/api-gateway.ts";

export const MAX_BODY_BYTES = 16 * 1024;

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json$/;

export const CHAT_ROUTE = /(?:^|\/)transfers\/chats\/([^/]*)\/?$/;

/**
 * `GET /transfers/chats/{chatId}?portal=…` as the read's input (validated by the read), or undefined for
 * any other path. Another method on it is refused here.
 */
export function chatReadInput(request: HttpRequest): { chatId: string; portal?: string } | undefined {
  const match = CHAT_ROUTE.exec(request.path);
  if (!match) return undefined;
  if (request.method !== "GET") {
    throw new TransferError("METHOD_NOT_ALLOWED", { detail: `${request.method} is not allowed; use GET` });
  }
  // API Gateway passes the path as sent; a chat id is digits or chat<digits>, so no decoding is needed.
  const chatId = match[1] ?? "";
  const portal = request.query.portal;
  return portal === undefined ? { chatId } : { chatId, portal };
}

/** Turns an HTTP request into a validated transfer (or batch), or the 4xx problem that explains why not. */
export function readHttpTransferRequest(request: HttpRequest): TransferInput {
  if (!/(^|\/)transfers\/?$/.test(request.path)) {
    throw new TransferError("NOT_FOUND", {
      detail: "the resources are POST /transfers and GET /transfers/chats/{chatId}",
    });
  }
  if (request.method !== "POST") {
    throw new TransferError("METHOD_NOT_ALLOWED", { detail: `${request.method} is not allowed; use POST` });
  }
  const mediaType = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (!JSON_MEDIA_TYPE.test(mediaType)) {
    throw new TransferError("UNSUPPORTED_MEDIA_TYPE", {
      detail: mediaType
        ? `content type ${mediaType.slice(0, 80)} is not supported; send application/json`
        : "send Content-Type: application/json",
    });
  }
  if (request.bodyTooLarge) {
    throw new TransferError("PAYLOAD_TOO_LARGE", {
      detail: `the body must be at most ${MAX_BODY_BYTES} bytes`,
    });
  }
  return requireTransferInput(parseJsonBody(request.body));
}

function parseJsonBody(body: Buffer | undefined): unknown {
  // One rule for both ways a body arrives: bytes that are not UTF-8 decode to U+FFFD here (a base64
  // body), or were already replaced by it before the function saw the text (a plain body). A message
  // with it would write that character into the chat. Written as the escape \ufffd it is the caller's
  // choice and stays.
  if (body === undefined) throw new TransferError("INVALID_JSON", { detail: "the body is empty; send JSON" });
  const text = body.toString("utf8");
  if (text.includes("\uFFFD")) {
    throw new TransferError("INVALID_JSON", {
      detail: "the body is not valid UTF-8 (U+FFFD stands for bytes that could not be decoded); send UTF-8",
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TransferError("INVALID_JSON", { detail: "the body is not valid JSON" });
  }
  // JSON.parse keeps the last of two equal keys: {"chatId":1,"operatorId":2,"chatId":3} would move chat 3.
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) {
    throw new TransferError("INVALID_JSON", {
      detail: `the body names the key "${duplicate.slice(0, 40)}" twice in one object; send each key once`,
    });
  }
  return json;
}
