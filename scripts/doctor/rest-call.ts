/**
 * One Bitrix24 REST call for the doctor: a single attempt (a diagnosis should show what happens, not
 * retry it away), classified for a person to read. The URL holds the webhook code, so nothing here
 * ever quotes it: network failures are reported by their error code only.
 */

export type RestOutcome =
  | { ok: true; result: unknown; next?: number }
  | { ok: false; kind: "unreachable"; reason: string }
  | { ok: false; kind: "bitrix24-error"; status: number; error: string; description?: string }
  | { ok: false; kind: "not-bitrix24"; status: number };

const TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 1024 * 1024;

export async function callRest(
  restBase: string,
  method: string,
  params: Record<string, unknown>,
): Promise<RestOutcome> {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${restBase}${method}.json`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(params),
      signal,
      // A redirect would carry the code to wherever it points.
      redirect: "error",
    });
    text = await response.text();
  } catch (error) {
    const reason = signal.aborted ? `no answer within ${TIMEOUT_MS / 1000} s` : networkErrorCode(error);
    return { ok: false, kind: "unreachable", reason };
  }

  const envelope = parseObject(text.length > MAX_RESPONSE_BYTES ? "" : text);
  if (envelope && typeof envelope.error === "string") {
    const description =
      typeof envelope.error_description === "string" ? envelope.error_description : undefined;
    return {
      ok: false,
      kind: "bitrix24-error",
      status: response.status,
      error: envelope.error,
      ...(description === undefined ? {} : { description }),
    };
  }
  if (!response.ok || !envelope || !("result" in envelope)) {
    return { ok: false, kind: "not-bitrix24", status: response.status };
  }
  return typeof envelope.next === "number"
    ? { ok: true, result: envelope.result, next: envelope.next }
    : { ok: true, result: envelope.result };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED…: the code only, since messages can quote the URL. */
function networkErrorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[A-Z0-9_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return "network error";
}
