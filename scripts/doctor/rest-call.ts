import { MAX_RESPONSE_BYTES } from "../../lambda/bitrix24/client.ts";
import {
  exchange,
  type HttpAnswer,
  HttpTimeoutError,
  networkErrorCode,
  parseJsonObject,
} from "../../lambda/bitrix24/http-exchange.ts";
import { endpointSecrets, upstreamError } from "../../lambda/domain/safe-text.ts";

/**
 * One Bitrix24 REST call for the doctor: a single attempt (a diagnosis should show what happens, not
 * retry it away), classified for a person to read. The URL holds the webhook code, so nothing here
 * ever quotes it: network failures are reported by their error code only.
 */

export type RestOutcome =
  | { ok: true; result: unknown; next?: number }
  | { ok: false; kind: "moved"; status: number; newOrigin: string | undefined }
  | { ok: false; kind: "unreachable"; reason: string }
  | { ok: false; kind: "bitrix24-error"; status: number; error: string; description?: string }
  | { ok: false; kind: "not-bitrix24"; status: number };

const TIMEOUT_MS = 10_000;

export async function callRest(
  restBase: string,
  method: string,
  params: Record<string, unknown>,
): Promise<RestOutcome> {
  let response: HttpAnswer;
  try {
    // The function's own HTTP primitive: no redirects followed (one would carry the code along), a size cap.
    response = await exchange({
      method: "POST",
      url: new URL(`${restBase}${method}.json`),
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(params),
      timeoutMs: TIMEOUT_MS,
      maxBytes: MAX_RESPONSE_BYTES,
    });
  } catch (error) {
    const reason =
      error instanceof HttpTimeoutError ? `no answer within ${TIMEOUT_MS / 1000} s` : networkErrorCode(error);
    return { ok: false, kind: "unreachable", reason };
  }

  if ([301, 302, 307, 308].includes(response.status)) {
    return { ok: false, kind: "moved", status: response.status, newOrigin: originOf(response.location) };
  }
  const envelope = parseJsonObject(response.text);
  if (envelope && typeof envelope.error === "string") {
    // The answers' own bounding and redaction: a code that is no code, a secret, a megabyte of text.
    const said = upstreamError(
      envelope.error,
      envelope.error_description,
      endpointSecrets(restBase, undefined, params.CLIENT_ID),
    );
    return { ok: false, kind: "bitrix24-error", status: response.status, ...said };
  }
  if (response.status !== 200 || !envelope || !("result" in envelope)) {
    return { ok: false, kind: "not-bitrix24", status: response.status };
  }
  return typeof envelope.next === "number"
    ? { ok: true, result: envelope.result, next: envelope.next }
    : { ok: true, result: envelope.result };
}

/** Only the origin of a redirect: its path repeats the webhook code. */
function originOf(location: string | undefined): string | undefined {
  try {
    return location === undefined ? undefined : new URL(location).origin;
  } catch {
    return undefined;
  }
}
