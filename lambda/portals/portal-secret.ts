import * as z from "zod/mini";
import { isBareUrl, usesAllowedScheme } from "../domain/endpoint-url.ts";
import { isRecord } from "../domain/is-record.ts";
import { TransferError } from "../domain/problems.ts";
import { type OAuthSecret, parseOAuthDocument } from "./oauth/secret.ts";

/** What a webhook portal's secret holds, parsed and checked. */
export interface WebhookCredentials {
  /** `https://<host>/rest/<userId>/<code>/`: a secret, never logged or returned. */
  restBase: string;
  /** The CLIENT_ID the portal's bot was registered with through this webhook. */
  clientId: string;
  /** The secret still names a bot id, which Bitrix24 has no parameter for: logged once, otherwise ignored. */
  obsoleteBotId?: true;
}

/** A portal's secret: an incoming webhook, or an OAuth application's tokens. */
export type PortalSecret =
  | { kind: "webhook"; credentials: WebhookCredentials }
  | { kind: "oauth"; oauth: OAuthSecret };

export interface SecretParseOptions {
  allowHttpLoopback: boolean;
}

const secretSchema = z.looseObject({
  webhookUrl: z.string(),
  clientId: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
});

/**
 * A webhook call without CLIENT_ID is refused with ACCESS_DENIED (imopenlines/lib/rest.php
 * `resolveClientId`), so a secret without one could never transfer anything: say so when it is read.
 */
export const MISSING_CLIENT_ID =
  'the portal\'s secret has no "clientId": Bitrix24 needs the CLIENT_ID your chat bot was registered with (the CLIENT_ID given to imbot.register through this same webhook) to act as that bot. Add it: {"webhookUrl": "https://…/rest/<user>/<code>/", "clientId": "<CLIENT_ID>"}';

const WEBHOOK_PATH = /^\/rest\/[1-9][0-9]*\/[A-Za-z0-9_]+\/?$/;

const misconfigured = (detail: string) => new TransferError("PORTAL_MISCONFIGURED", { detail });

/**
 * Parses a portal secret of either kind. Errors name what is wrong but never echo the value: a
 * malformed secret may still contain a live webhook code or token.
 */
export function parsePortalSecret(
  raw: string,
  versionId: string | undefined,
  options: SecretParseOptions,
): PortalSecret {
  const json = parseJson(raw);
  if (isRecord(json) && "oauth" in json) {
    return { kind: "oauth", oauth: parseOAuthDocument(json as Record<string, unknown>, versionId, options) };
  }
  return { kind: "webhook", credentials: webhookFrom(json, options) };
}

/** Parses a webhook portal's secret. */
export function parseWebhookSecret(raw: string, options: SecretParseOptions): WebhookCredentials {
  return webhookFrom(parseJson(raw), options);
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw misconfigured(
      'the portal\'s secret is not JSON; it must be {"webhookUrl": "https://…/rest/<user>/<code>/"} or {"oauth": {…}}',
    );
  }
}

function webhookFrom(json: unknown, options: SecretParseOptions): WebhookCredentials {
  const parsed = z.safeParse(secretSchema, json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join(".") || "(value)"))];
    throw misconfigured(`the portal's secret has invalid fields: ${fields.join(", ")}`);
  }
  const { webhookUrl, clientId } = parsed.data;

  let url: URL;
  try {
    url = new URL(webhookUrl);
  } catch {
    throw misconfigured("the portal's webhookUrl is not a URL (is the secret still the placeholder?)");
  }
  if (!usesAllowedScheme(url, options.allowHttpLoopback)) {
    throw misconfigured("the portal's webhookUrl must use https");
  }
  if (!isBareUrl(url) || !WEBHOOK_PATH.test(url.pathname)) {
    throw misconfigured(
      "the portal's webhookUrl must look like https://<portal>/rest/<user id>/<webhook code>/",
    );
  }
  if (clientId === undefined) throw misconfigured(MISSING_CLIENT_ID);
  const restBase = `${url.origin}${url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`}`;
  const credentials: WebhookCredentials = { restBase, clientId };
  if (isRecord(json) && "botId" in json) credentials.obsoleteBotId = true;
  return credentials;
}
