import { createHash } from "node:crypto";

/**
 * Only SHA-256 hashes of client tokens are stored, so the secret alone does not let anyone call the API.
 * Tokens are 256-bit random values: a fast unsalted hash is enough, there is nothing to brute-force.
 */
export const TOKEN_HASH_PATTERN = /^[0-9a-f]{64}$/;

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
