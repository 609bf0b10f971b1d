import { Logger } from "@aws-lambda-powertools/logger";
import { MAX_DETAIL_CHARS, safeText } from "../domain/safe-text.ts";
import { TRANSFER_SERVICE_NAME } from "../names.ts";

/**
 * One structured JSON logger for the whole function. Nothing that reaches it may carry a secret: callers
 * log our own codes and ids, never URLs, secret values or raw upstream errors; problems are bounded
 * and redacted as they are made (domain/safe-text.ts).
 */
/** The stack sets POWERTOOLS_SERVICE_NAME per function (names.ts); a local run is the transfer function. */
export const SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME || TRANSFER_SERVICE_NAME;

export const logger = new Logger({ serviceName: SERVICE_NAME });

/** A failure that is a bug, not a refusal: its name and its text, which is free text, redacted and bounded. */
export function logUnexpectedFailure(error: unknown, message = "unexpected failure"): void {
  logger.error(message, {
    errorName: error instanceof Error ? error.name : typeof error,
    reason: safeText(
      error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error),
      MAX_DETAIL_CHARS * 4,
    ),
  });
}
