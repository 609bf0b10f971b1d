/** Hosts where plain http is acceptable, and then only when ALLOW_HTTP_LOOPBACK is set (local runs, tests). */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Credentials travel in these requests, so anything but https is refused outside loopback. */
export function usesAllowedScheme(url: URL, allowHttpLoopback: boolean): boolean {
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && allowHttpLoopback && LOOPBACK_HOSTS.has(url.hostname);
}

/** Nothing but scheme, host and path: credentials, a query or a fragment have no place in an endpoint we call. */
export function isBareUrl(url: URL): boolean {
  return !url.username && !url.password && !url.search && !url.hash;
}
