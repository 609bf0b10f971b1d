import * as z from "zod/mini";
import type { PortalAccess } from "../../bitrix24/methods.ts";
import { isBareUrl, LOOPBACK_HOSTS, usesAllowedScheme } from "../../domain/endpoint-url.ts";
import { TransferError } from "../../domain/problems.ts";
import type { TokenPair } from "./tokens.ts";

/**
 * An OAuth application portal's secret:
 * `{"oauth": {"domain", "clientId", "clientSecret", "accessToken", "refreshToken", "expiresAt", "clientEndpoint"?, "serverEndpoint"?}}`
 * with `expiresAt` in unix seconds, as Bitrix24's `expires`. An application acts as the first bot it
 * registered (im/lib/bot.php `getBotIdByAppId`), so no bot is named here.
 */
export interface OAuthSecret {
  /** The application's credentials for the token endpoint: secrets. */
  app: { clientId: string; clientSecret: string };
  pair: TokenPair;
  access: PortalAccess;
  /** The whole document, so a rewrite keeps every other key (notes…) as it was. */
  document: Record<string, unknown>;
  /** The Secrets Manager version this was read from: what a write must replace. */
  versionId: string;
}

const nonEmpty = () => z.string().check(z.minLength(1));

const oauthSchema = z.looseObject({
  domain: z.string().check(z.regex(/^(\[::1\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$/)),
  clientId: nonEmpty(),
  clientSecret: nonEmpty(),
  // Empty is allowed: with expiresAt 0 the first call renews before using it.
  accessToken: z.string(),
  refreshToken: nonEmpty(),
  expiresAt: z.number().check(z.nonnegative()),
  clientEndpoint: z.optional(z.string()),
  serverEndpoint: z.optional(z.string()),
});

const documentSchema = z.looseObject({ oauth: oauthSchema });

const misconfigured = (detail: string) => new TransferError("PORTAL_MISCONFIGURED", { detail });

export function parseOAuthDocument(
  document: Record<string, unknown>,
  versionId: string | undefined,
  options: { allowHttpLoopback: boolean },
): OAuthSecret {
  if ("webhookUrl" in document) {
    throw misconfigured("the portal's secret holds both webhookUrl and oauth; keep only one");
  }
  const parsed = z.safeParse(documentSchema, document);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join(".") || "(value)"))];
    throw misconfigured(`the portal's secret has invalid fields: ${fields.join(", ")}`);
  }
  // Compare-and-swap writes need the version read; Secrets Manager always returns one.
  if (versionId === undefined) throw misconfigured("the portal's secret was read without a version id");
  const { oauth } = parsed.data;
  const restBase =
    oauth.clientEndpoint === undefined
      ? restBaseForDomain(oauth.domain, options.allowHttpLoopback)
      : restBaseFromEndpoint(oauth.clientEndpoint, options.allowHttpLoopback);
  if (restBase === undefined) {
    throw misconfigured("the portal's oauth.clientEndpoint must look like https://<portal>/rest/");
  }
  return {
    app: { clientId: oauth.clientId, clientSecret: oauth.clientSecret },
    pair: {
      accessToken: oauth.accessToken,
      refreshToken: oauth.refreshToken,
      expiresAt: oauth.expiresAt * 1000,
      restBase,
      ...(oauth.serverEndpoint === undefined ? {} : { serverEndpoint: oauth.serverEndpoint }),
    },
    access: {},
    document,
    versionId,
  };
}

function restBaseForDomain(domain: string, allowHttpLoopback: boolean): string {
  const host = domain.replace(/:[0-9]+$/, "");
  const scheme = allowHttpLoopback && LOOPBACK_HOSTS.has(host) ? "http" : "https";
  return `${scheme}://${domain}/rest/`;
}

/**
 * The REST base from a `client_endpoint` (secret or token answer), or undefined when it is not an
 * https `…/rest/` address: the access token is sent there.
 */
export function restBaseFromEndpoint(endpoint: string, allowHttpLoopback: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return undefined;
  }
  if (!usesAllowedScheme(url, allowHttpLoopback)) return undefined;
  if (!isBareUrl(url) || !/^\/rest\/?$/.test(url.pathname)) {
    return undefined;
  }
  return `${url.origin}/rest/`;
}

/** The secret's new value with a renewed pair; every other key stays as it was. */
export function documentWithPair(document: Record<string, unknown>, pair: TokenPair): string {
  const oauth = document.oauth as Record<string, unknown>;
  return JSON.stringify({
    ...document,
    oauth: {
      ...oauth,
      accessToken: pair.accessToken,
      refreshToken: pair.refreshToken,
      expiresAt: Math.floor(pair.expiresAt / 1000),
      clientEndpoint: pair.restBase,
      ...(pair.serverEndpoint === undefined ? {} : { serverEndpoint: pair.serverEndpoint }),
    },
  });
}
