/**
 * Parked items are signed, so `npm run replay-failures` replays only what this function parked: the
 * queue policy already refuses other senders, and the signature still holds if that policy is
 * loosened or a sender it allows is abused. HMAC-SHA256 over the exact message body, keyed with a
 * secret only the function and the replay tool's principals may read (FAILURE_SIGNING_SECRET).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The SQS message attribute that carries the signature. */
export const SIGNATURE_ATTRIBUTE = "signature";
const VERSION = "v1=";

export function signBody(body: string, key: string): string {
  return `${VERSION}${createHmac("sha256", key).update(body, "utf8").digest("hex")}`;
}

/** Constant-time: a forger learns nothing from how long a wrong signature took to refuse. */
export function verifyBody(body: string, signature: string | undefined, key: string): boolean {
  if (signature === undefined) return false;
  const expected = Buffer.from(signBody(body, key));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
