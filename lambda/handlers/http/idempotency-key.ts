import { IDEMPOTENCY_KEY_PATTERN } from "../../domain/idempotency-key-pattern.ts";
import { TransferError } from "../../domain/problems.ts";
import type { HttpRequest } from "../../events/api-gateway.ts";

/**
 * The caller's Idempotency-Key, scoped to the authenticated client so two clients can never collide,
 * or undefined when the request has none.
 */
export function idempotencyKey(request: HttpRequest): string | undefined {
  const key = request.headers["idempotency-key"];
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new TransferError("VALIDATION_FAILED", {
      detail: "Idempotency-Key must be 1-255 visible ASCII characters",
      errors: [{ path: "headers.Idempotency-Key", message: "must be 1-255 visible ASCII characters" }],
    });
  }
  return `http:${request.client ?? "-"}:${key}`;
}
