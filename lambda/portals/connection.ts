/**
 * A portal's credentials, webhook or OAuth application, behind one seam. `restBase` and `auth` are
 * secrets: never logged or returned.
 */
import type { CallOptions, CallResult } from "../bitrix24/client.ts";
import { callMethod } from "../bitrix24/client.ts";
import type { PortalAccess } from "../bitrix24/methods.ts";
import type { TransferError } from "../domain/problems.ts";

/** Where and as whom one call goes. */
export interface PortalEndpoint {
  /** `https://<portal>/rest/<user>/<code>/` for a webhook, `https://<portal>/rest/` for an application. */
  restBase: string;
  /** An application's access token, sent as the `auth` parameter; absent for webhooks. */
  auth?: string;
  access: PortalAccess;
}

/**
 * A portal's credentials, webhook or OAuth application, behind one seam: what to call with, and what
 * to do when Bitrix24 refuses it.
 */
export interface PortalConnection {
  /** Credentials for the next call; an application renews a token about to expire first. */
  endpoint(deadline: number): Promise<PortalEndpoint>;
  /**
   * After Bitrix24 refused `used` with a credentials error: credentials worth exactly one more call,
   * or undefined when they would fail the same way.
   */
  recover(used: PortalEndpoint, error: TransferError, deadline: number): Promise<PortalEndpoint | undefined>;
}

export function callEndpoint(
  endpoint: PortalEndpoint,
  method: string,
  params: Record<string, unknown>,
  options: CallOptions,
): Promise<CallResult> {
  const withAuth = endpoint.auth === undefined ? params : { ...params, auth: endpoint.auth };
  return callMethod(endpoint.restBase, method, withAuth, options);
}
