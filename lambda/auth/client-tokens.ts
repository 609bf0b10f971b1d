import { timingSafeEqual } from "node:crypto";
import { hashToken, TOKEN_HASH_PATTERN } from "./token-hash.ts";

/** Client names appear in logs and as keys of the client-token secret. */
export const CLIENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface ClientTokenEntry {
  client: string;
  hash: Buffer;
}

export interface IgnoredClientEntry {
  client: string;
  reason: "not enabled in the stack configuration" | "not a SHA-256 hex digest";
}

export interface ClientTokenTable {
  entries: readonly ClientTokenEntry[];
  ignored: readonly IgnoredClientEntry[];
}

export class ClientTokensFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClientTokensFormatError";
  }
}

/**
 * Parses the client-token secret `{"<client>": "<sha256 hex>"}`. Only clients enabled in the stack
 * configuration count, so removing a name from the configuration revokes it even if the secret still
 * holds its hash. One bad entry is ignored rather than locking every client out.
 */
export function parseClientTokens(secretValue: string, enabledClients: readonly string[]): ClientTokenTable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretValue);
  } catch {
    throw new ClientTokensFormatError("the client-token secret is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ClientTokensFormatError("the client-token secret must be a JSON object of client name to hash");
  }
  const enabled = new Set(enabledClients);
  const entries: ClientTokenEntry[] = [];
  const ignored: IgnoredClientEntry[] = [];
  for (const [client, hash] of Object.entries(parsed)) {
    if (!enabled.has(client)) {
      ignored.push({ client, reason: "not enabled in the stack configuration" });
    } else if (typeof hash !== "string" || !TOKEN_HASH_PATTERN.test(hash)) {
      ignored.push({ client, reason: "not a SHA-256 hex digest" });
    } else {
      entries.push({ client, hash: Buffer.from(hash, "hex") });
    }
  }
  return { entries, ignored };
}

/**
 * The client whose stored hash equals the token's hash. Every entry is compared in constant time and
 * the loop never stops early, so the response time does not reveal which entry, or how much of one,
 * matched.
 */
export function findClient(table: ClientTokenTable, token: string): string | undefined {
  const presented = Buffer.from(hashToken(token), "hex");
  let found: string | undefined;
  for (const entry of table.entries) {
    const equal = timingSafeEqual(entry.hash, presented);
    found = equal && found === undefined ? entry.client : found;
  }
  return found;
}
