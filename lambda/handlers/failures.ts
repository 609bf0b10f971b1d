/** Any failure as a problem with a stable code: ours as they are, the rest as INTERNAL_ERROR, logged once. */
import { ConfigError } from "../config.ts";
import { TransferError } from "../domain/problems.ts";
import { logger, logUnexpectedFailure } from "../observability/logger.ts";

export function asTransferError(error: unknown): TransferError {
  if (error instanceof TransferError) return error;
  if (error instanceof ConfigError) {
    logger.error("the function is misconfigured", { reason: error.message });
    return new TransferError("INTERNAL_ERROR", {
      detail: "the service is misconfigured; its operators have been told",
    });
  }
  logUnexpectedFailure(error);
  return new TransferError("INTERNAL_ERROR", { detail: "the service failed unexpectedly" });
}
