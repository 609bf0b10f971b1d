import { TransferError } from "../../domain/problems.ts";
import { requireTransferInput, type TransferInput } from "../../domain/transfer-request.ts";
import type { HttpRequest } from "../../events/api-gateway.ts";

export const MAX_BODY_BYTES = 16 * 1024;

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json$/;

/** Turns an HTTP request into a validated transfer (or batch), or the 4xx problem that explains why not. */
export function readHttpTransferRequest(request: HttpRequest): TransferInput {
  if (!/(^|\/)transfers\/?$/.test(request.path)) {
    throw new TransferError("NOT_FOUND", { detail: "the only resource is POST /transfers" });
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
  try {
    return JSON.parse(text);
  } catch {
    throw new TransferError("INVALID_JSON", { detail: "the body is not valid JSON" });
  }
}
