/**
 * Reads `Authorization: Bearer <token>` (RFC 6750). The token grammar is b64token; the length bound
 * keeps an absurd header from costing a hash.
 */
const BEARER_HEADER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const MAX_TOKEN_LENGTH = 512;

export type BearerToken = { ok: true; token: string } | { ok: false; reason: "missing" | "malformed" };

export function readBearerToken(headers: Record<string, string | undefined> | undefined): BearerToken {
  // HTTP APIs deliver payload 2.0 header names in lower case.
  const header = headers?.authorization;
  if (header === undefined || header.trim() === "") return { ok: false, reason: "missing" };
  const match = BEARER_HEADER.exec(header);
  const token = match?.[1];
  if (token === undefined || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: "malformed" };
  return { ok: true, token };
}
