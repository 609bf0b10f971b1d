import { isBareUrl, usesAllowedScheme } from "./domain/endpoint-url.ts";
import { PORTAL_NAME_PATTERN } from "./domain/transfer-request.ts";

/** Settings the function reads from its environment; the CDK stack sets them from validated config. */
export interface ServiceConfig {
  /** Portal name → Secrets Manager secret id or ARN. */
  portals: ReadonlyMap<string, string>;
  defaultPortal: string | undefined;
  secretCacheTtlMs: number;
  /** Plain-http webhooks on loopback hosts, for local runs and tests only. */
  allowHttpLoopback: boolean;
  /** Longest wait for one Bitrix24 answer before the attempt counts as timed out. */
  attemptTimeoutMs: number;
  /** SQS queue for asynchronous work that finally failed. */
  failureQueueUrl: string | undefined;
  /** Secret holding the key that signs parked items (failure-signature.ts); unsigned without it. */
  failureSigningSecret: string | undefined;
  /** DynamoDB table for Idempotency-Key and event-id deduplication. */
  idempotencyTable: string | undefined;
  /** Portals whose secret may hold OAuth tokens: the function may rewrite only these secrets. */
  oauthPortals: ReadonlySet<string>;
  /** Bitrix24's OAuth token endpoint. */
  oauthTokenUrl: string;
  /** "escape": a message's BBCode is shown as text, not rendered (MESSAGE_BBCODE); "keep" by default. */
  messageBbcode: "keep" | "escape";
  /** Client name → the portals it may use; a client not named may use every portal (CLIENT_PORTALS). */
  clientPortals: ReadonlyMap<string, ReadonlySet<string>>;
  /** Domains an on-premise portal may move to (a 302), besides Bitrix24's cloud zones and its own domain. */
  portalMoveDomains: readonly string[];
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const portals = parsePortals(env.PORTALS);
  const defaultPortal = env.DEFAULT_PORTAL || (portals.size === 1 ? [...portals.keys()][0] : undefined);
  if (defaultPortal !== undefined && !portals.has(defaultPortal)) {
    throw new ConfigError(`DEFAULT_PORTAL "${defaultPortal}" is not a key of PORTALS`);
  }
  return {
    portals,
    defaultPortal,
    secretCacheTtlMs: seconds(env, "SECRET_CACHE_TTL_SECONDS", 300) * 1000,
    allowHttpLoopback: env.ALLOW_HTTP_LOOPBACK === "true",
    attemptTimeoutMs: seconds(env, "BITRIX24_ATTEMPT_TIMEOUT_SECONDS", 8) * 1000,
    failureQueueUrl: env.FAILURE_QUEUE_URL || undefined,
    failureSigningSecret: env.FAILURE_SIGNING_SECRET || undefined,
    idempotencyTable: env.IDEMPOTENCY_TABLE || undefined,
    oauthPortals: parseOAuthPortals(env.OAUTH_PORTALS, portals),
    oauthTokenUrl: parseTokenUrl(env.B24_OAUTH_TOKEN_URL, env.ALLOW_HTTP_LOOPBACK === "true"),
    portalMoveDomains: parseMoveDomains(env.PORTAL_MOVE_DOMAINS),
    clientPortals: parseClientPortals(env.CLIENT_PORTALS, portals),
    messageBbcode: parseBbcode(env.MESSAGE_BBCODE),
  };
}

/** OAUTH_PORTALS: a JSON list of portal names, e.g. ["main"]. */
function parseOAuthPortals(raw: string | undefined, portals: ReadonlyMap<string, string>): Set<string> {
  if (!raw) return new Set();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError("OAUTH_PORTALS is not valid JSON");
  }
  if (!Array.isArray(parsed) || !parsed.every((name) => typeof name === "string" && portals.has(name))) {
    throw new ConfigError('OAUTH_PORTALS must be a JSON list of keys of PORTALS, such as ["main"]');
  }
  return new Set(parsed as string[]);
}

function parseBbcode(raw: string | undefined): "keep" | "escape" {
  if (!raw || raw === "keep") return "keep";
  if (raw === "escape") return "escape";
  throw new ConfigError('MESSAGE_BBCODE must be "keep" or "escape"');
}

/** CLIENT_PORTALS: a JSON object of client name → list of portal names, e.g. {"crm": ["main"]}. */
function parseClientPortals(raw: string | undefined, portals: ReadonlyMap<string, string>) {
  const allowed = new Map<string, ReadonlySet<string>>();
  if (!raw) return allowed;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError("CLIENT_PORTALS is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('CLIENT_PORTALS must be a JSON object such as {"crm": ["main"]}');
  }
  for (const [client, names] of Object.entries(parsed)) {
    if (!Array.isArray(names) || !names.every((name) => typeof name === "string" && portals.has(name))) {
      throw new ConfigError(`CLIENT_PORTALS.${client} must be a list of keys of PORTALS`);
    }
    allowed.set(client, new Set(names as string[]));
  }
  return allowed;
}

/** A host name of at least two labels, lower case: `crm.example.com`. */
const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/;

/** PORTAL_MOVE_DOMAINS: a JSON list of domains, e.g. ["crm.example.net"]. */
function parseMoveDomains(raw: string | undefined): string[] {
  if (!raw) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError("PORTAL_MOVE_DOMAINS is not valid JSON");
  }
  if (!Array.isArray(parsed) || !parsed.every((d) => typeof d === "string" && DOMAIN_PATTERN.test(d))) {
    throw new ConfigError(
      'PORTAL_MOVE_DOMAINS must be a JSON list of lower-case domains, such as ["example.com"]',
    );
  }
  return parsed as string[];
}

const DEFAULT_TOKEN_URL = "https://oauth.bitrix.info/oauth/token/";

function parseTokenUrl(raw: string | undefined, allowHttpLoopback: boolean): string {
  if (!raw) return DEFAULT_TOKEN_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("B24_OAUTH_TOKEN_URL is not a URL");
  }
  // The application's client secret and refresh token travel in this URL's query.
  if (!usesAllowedScheme(url, allowHttpLoopback) || !isBareUrl(url)) {
    throw new ConfigError("B24_OAUTH_TOKEN_URL must be an https URL without query or credentials");
  }
  return url.href;
}

function parsePortals(raw: string | undefined): Map<string, string> {
  if (!raw) throw new ConfigError("PORTALS is not set");
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError("PORTALS is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('PORTALS must be a JSON object such as {"main": "<secret id>"}');
  }
  const portals = new Map<string, string>();
  for (const [name, secretId] of Object.entries(parsed)) {
    if (!PORTAL_NAME_PATTERN.test(name))
      throw new ConfigError(`PORTALS has an invalid portal name "${name}"`);
    if (typeof secretId !== "string" || secretId === "") {
      throw new ConfigError(`PORTALS.${name} must be a secret id or ARN`);
    }
    portals.set(name, secretId);
  }
  if (portals.size === 0) throw new ConfigError("PORTALS has no portal");
  return portals;
}

/** A non-negative number of seconds from the environment, or `fallback` when unset. */
export function seconds(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(`${key} must be a number of seconds`);
  return value;
}
