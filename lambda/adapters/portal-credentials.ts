import * as z from "zod/mini";
import { TransferError } from "../domain/problems.ts";

/** What a webhook portal's secret holds, parsed and checked. */
export interface WebhookCredentials {
  /** `https://<host>/rest/<userId>/<code>/`: a secret, never logged or returned. */
  restBase: string;
  botId?: number;
  clientId?: string;
}

const secretSchema = z.looseObject({
  webhookUrl: z.string(),
  botId: z.optional(z.number().check(z.int(), z.positive())),
  clientId: z.optional(z.string().check(z.minLength(1))),
});

const WEBHOOK_PATH = /^\/rest\/[1-9][0-9]*\/[A-Za-z0-9_]+\/?$/;
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

const misconfigured = (detail: string) => new TransferError("PORTAL_MISCONFIGURED", { detail });

/**
 * Parses a portal secret. Errors name what is wrong but never echo the value: a malformed secret may
 * still contain a live webhook code.
 */
export function parseWebhookSecret(raw: string, options: { allowHttpLoopback: boolean }): WebhookCredentials {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw misconfigured(
      'the portal\'s secret is not JSON; it must be {"webhookUrl": "https://…/rest/<user>/<code>/"}',
    );
  }
  const parsed = z.safeParse(secretSchema, json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join(".") || "(value)"))];
    throw misconfigured(`the portal's secret has invalid fields: ${fields.join(", ")}`);
  }
  const { webhookUrl, botId, clientId } = parsed.data;

  let url: URL;
  try {
    url = new URL(webhookUrl);
  } catch {
    throw misconfigured("the portal's webhookUrl is not a URL (is the secret still the placeholder?)");
  }
  const loopbackHttp =
    url.protocol === "http:" && options.allowHttpLoopback && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== "https:" && !loopbackHttp) {
    throw misconfigured("the portal's webhookUrl must use https");
  }
  if (url.username || url.password || url.search || url.hash || !WEBHOOK_PATH.test(url.pathname)) {
    throw misconfigured(
      "the portal's webhookUrl must look like https://<portal>/rest/<user id>/<webhook code>/",
    );
  }
  const restBase = `${url.origin}${url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`}`;
  const credentials: WebhookCredentials = { restBase };
  if (botId !== undefined) credentials.botId = botId;
  if (clientId !== undefined) credentials.clientId = clientId;
  return credentials;
}
