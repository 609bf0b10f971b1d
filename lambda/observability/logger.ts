import { Logger } from "@aws-lambda-powertools/logger";

/**
 * One structured JSON logger for the whole function. Nothing that reaches it may carry a secret: callers
 * log our own codes and ids, never URLs, secret values or raw upstream errors; problems are bounded
 * and redacted as they are made (domain/safe-text.ts).
 */
export const SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME ?? "b24-transfer";

export const logger = new Logger({ serviceName: SERVICE_NAME });
