import { Logger } from "@aws-lambda-powertools/logger";

/**
 * One structured JSON logger for the whole function. Nothing that reaches it may carry a secret: callers
 * log our own codes and ids, never URLs, secret values or raw upstream errors; `redact` is the
 * last line of defence for free text that could contain a webhook path.
 */
export const SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME ?? "b24-transfer";

export const logger = new Logger({ serviceName: SERVICE_NAME });

const WEBHOOK_PATH = /\/rest\/(\d+)\/[^/\s"']+/g;
const BEARER = /(Bearer\s+)[^\s"']+/gi;

export function redact(text: string): string {
  return text.replace(WEBHOOK_PATH, "/rest/$1/[REDACTED]").replace(BEARER, "$1[REDACTED]");
}
