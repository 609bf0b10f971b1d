import { isBareUrl, usesAllowedScheme } from "../domain/endpoint-url.ts";
import { TransferError } from "../domain/problems.ts";

/**
 * A renamed portal answers 302 with its new address (b24restdocs settings/how-to-call-rest-api/
 * change-domen.md; the official PHP SDK re-posts to the Location). Only a move of the host is followed:
 * the same path (which holds the webhook's user and code) on an https origin, so a redirect can never
 * send credentials anywhere but the same REST path of another portal address.
 * Answers the new address, or the problem that refuses the move (the attempt's answer: one request went out).
 */
export function followMove(from: URL, location: string, allowHttpLoopback: boolean): URL | TransferError {
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    return moveRefused("to an address that is not a URL");
  }
  if (!usesAllowedScheme(to, allowHttpLoopback)) return moveRefused("to an address that is not https");
  if (!isBareUrl(to) || to.pathname !== from.pathname) return moveRefused("to another REST path");
  if (to.origin === from.origin) return moveRefused("to its own address");
  return to;
}

export const isRedirect = (status: number) => [301, 302, 307, 308].includes(status);

function moveRefused(where: string): TransferError {
  return new TransferError("PORTAL_MISCONFIGURED", {
    detail: `Bitrix24 redirected the call ${where}; only a portal's move to a new https address is followed. Check the portal's address in its secret`,
  });
}
