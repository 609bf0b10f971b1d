import { isBareUrl, LOOPBACK_HOSTS, usesAllowedScheme } from "../domain/endpoint-url.ts";
import { TransferError } from "../domain/problems.ts";

/**
 * Bitrix24's cloud zones (landing/lib/help.php `Help::$domains`): a cloud portal is `<name>.<zone>`,
 * and a renamed cloud portal can only be another name in one of them.
 */
export const BITRIX24_CLOUD_ZONES: readonly string[] = [
  "bitrix24.ru",
  "bitrix24.by",
  "bitrix24.kz",
  "bitrix24.ua",
  "bitrix24.com",
  "bitrix24.de",
  "bitrix24.es",
  "bitrix24.com.br",
  "bitrix24.pl",
  "bitrix24.fr",
  "bitrix24.cn",
  "bitrix24.in",
  "bitrix24.eu",
  "bitrix24.com.tr",
  "bitrix24.it",
  "bitrix24.id",
  "bitrix24.vn",
  "bitrix24.jp",
  "bitrix24.uz",
];

/** Where a portal may move: set per call from the configuration (PORTAL_MOVE_DOMAINS) and the run mode. */
export interface MovePolicy {
  allowHttpLoopback: boolean;
  /** Domains (with their subdomains) an on-premise portal may move to, besides its own registrable domain. */
  domains?: readonly string[];
}

/**
 * A renamed portal answers 302 with its new address (b24restdocs settings/how-to-call-rest-api/
 * change-domen.md; the official PHP SDK re-posts to the Location). The redirect carries the webhook
 * code and the message on to wherever it points, so only a move a portal could really make is
 * followed: the same path on an https origin whose host is a Bitrix24 cloud portal, in the portal's
 * own registrable domain or in a configured domain, and never an IP address.
 * Answers the new address, or the problem that refuses the move (the attempt's answer: one request went out).
 */
export function followMove(from: URL, location: string, policy: MovePolicy): URL | TransferError {
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    return moveRefused("to an address that is not a URL");
  }
  if (!usesAllowedScheme(to, policy.allowHttpLoopback)) return moveRefused("to an address that is not https");
  if (!isBareUrl(to) || to.pathname !== from.pathname) return moveRefused("to another REST path");
  if (to.origin === from.origin) return moveRefused("to its own address");
  if (!mayMoveTo(from.hostname, to.hostname, policy)) {
    return moveRefused(
      `to host "${to.hostname}", which is no Bitrix24 cloud portal, not in the portal's own domain and not in PORTAL_MOVE_DOMAINS`,
    );
  }
  return to;
}

function mayMoveTo(fromHost: string, toHost: string, policy: MovePolicy): boolean {
  // Local runs and tests move between loopback servers; nothing else may name an address.
  if (policy.allowHttpLoopback && LOOPBACK_HOSTS.has(toHost)) return true;
  if (isIpLiteral(toHost)) return false;
  const own = registrableDomain(fromHost);
  const domains = [...BITRIX24_CLOUD_ZONES, ...(own ? [own] : []), ...(policy.domains ?? [])];
  return domains.some((domain) => isWithin(toHost, domain));
}

/** The host is the domain or one of its subdomains (a trailing dot or a look-alike suffix is neither). */
function isWithin(host: string, domain: string): boolean {
  const name = domain.toLowerCase();
  return host === name || host.endsWith(`.${name}`);
}

/** WHATWG URL hosts: IPv6 in brackets; IPv4 already normalised to dotted decimal (`0x7f.1` → `127.0.0.1`). */
export function isIpLiteral(host: string): boolean {
  return host.startsWith("[") || /^\d+\.\d+\.\d+\.\d+$/.test(host);
}

/** Second-level labels under a country code that are public suffixes (`co.uk`, `com.br`): a short, documented approximation of the Public Suffix List. */
const PUBLIC_SECOND_LEVEL = /^(ac|co|com|edu|gob|gov|go|ltd|ne|net|or|org|plc)$/;

/**
 * The domain a company owns around its portal's host (`crm.example.com` → `example.com`,
 * `crm.example.co.uk` → `example.co.uk`); none for an IP address or a bare public suffix.
 */
export function registrableDomain(host: string): string | undefined {
  if (isIpLiteral(host)) return undefined;
  const labels = host.split(".");
  const last = labels.length - 1;
  const countryPair = (labels[last] ?? "").length === 2 && PUBLIC_SECOND_LEVEL.test(labels[last - 1] ?? "");
  const size = countryPair ? 3 : 2;
  if (labels.length < size) return undefined;
  return labels.slice(-size).join(".");
}

export const isRedirect = (status: number) => [301, 302, 307, 308].includes(status);

function moveRefused(where: string): TransferError {
  return new TransferError("PORTAL_MISCONFIGURED", {
    detail: `Bitrix24 redirected the call ${where}; only a portal's move to a new https address of a Bitrix24 portal is followed. Check the portal's address in its secret`,
  });
}
