/** Any failure as a problem with a stable code: ours as they are, the rest as INTERNAL_ERROR, logged once. */
import { ConfigError } from "../config.ts";
import { TransferError } from "../domain/problems.ts";
import { MAX_DETAIL_CHARS, safeText } from "../domain/safe-text.ts";
import { logger } from "../observability/logger.ts";

export function asTransferError(error: unknown): TransferError {
  if (error instanceof TransferError) return error;
  if (error instanceof ConfigError) {
    logger.error("the function is misconfigured", { reason: error.message });
    return new TransferError("INTERNAL_ERROR", {
      detail: "the service is misconfigured; its operators have been told",
    });
  }
  logger.error("unexpected failure", {
    errorName: error instanceof Error ? error.name : typeof error,
    // An unexpected error's text is free text: redacted like an upstream one, and bounded.
    reason: safeText(
      error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error),
      MAX_DETAIL_CHARS * 4,
    ),
  });
  return new TransferError("INTERNAL_ERROR", { detail: "the service failed unexpectedly" });
}
