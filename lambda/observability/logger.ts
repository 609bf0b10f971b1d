import { Logger } from "@aws-lambda-powertools/logger";
import { TRANSFER_SERVICE_NAME } from "../names.ts";

/**
 * One structured JSON logger for the whole function. Nothing that reaches it may carry a secret: callers
 * log our own codes and ids, never URLs, secret values or raw upstream errors; problems are bounded
 * and redacted as they are made (domain/safe-text.ts).
 */
/** The stack sets POWERTOOLS_SERVICE_NAME per function (names.ts); a local run is the transfer function. */
export const SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME || TRANSFER_SERVICE_NAME;

export const logger = new Logger({ serviceName: SERVICE_NAME });
