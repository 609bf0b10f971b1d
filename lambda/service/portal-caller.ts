/**
 * Calls a portal as its connection says, and remembers what the portal taught the container: a new
 * address after a rename (302), fresh credentials after a rotation.
 */
import type { CallResult } from "../bitrix24/client.ts";
import { isCredentialsError, type PortalAccess } from "../bitrix24/methods.ts";
import type { ServiceConfig } from "../config.ts";
import type { TransferError } from "../domain/problems.ts";
import { endpointSecrets } from "../domain/safe-text.ts";
import { logger } from "../observability/logger.ts";
import { publishPortalMoved } from "../observability/metrics.ts";
import { callEndpoint, type PortalEndpoint } from "../portals/connection.ts";
import { createPortalConnections, type PortalConnections } from "../portals/connections.ts";

/** A method and its parameters, built for the credentials that will carry it. */
export type CallFor = (access: PortalAccess) => { method: string; params: Record<string, unknown> };

/** A call's result and the secret values of the endpoint that answered, to keep out of its texts. */
export type PortalCallResult = CallResult & { secrets: string[] };

export class PortalCaller {
  readonly #connections: PortalConnections;
  readonly #config: ServiceConfig;
  /**
   * REST bases of portals that answered with a new address: calls go there directly for as long as the
   * secret read with the old address is kept (SECRET_CACHE_TTL_SECONDS), never for the container's life.
   * After that the old address is called again: an updated secret wins, a portal that still redirects
   * is followed (and counted) once more. The secret keeps the old address until someone updates it;
   * the warning and the PortalMoved alarm say so.
   */
  readonly #moved = new Map<string, { base: string; at: number }>();

  constructor(config: ServiceConfig) {
    this.#config = config;
    this.#connections = createPortalConnections({
      portals: config.portals,
      oauthPortals: config.oauthPortals,
      secretCacheTtlMs: config.secretCacheTtlMs,
      allowHttpLoopback: config.allowHttpLoopback,
      oauthTokenUrl: config.oauthTokenUrl,
      attemptTimeoutMs: config.attemptTimeoutMs,
    });
  }

  prepare(portal: string): Promise<void> {
    return this.#connections.prepare(portal);
  }

  /**
   * On a credentials error the connection recovers (re-reads a rotated webhook, or renews an
   * application's token) and the call runs once more: credentials errors are refusals before
   * anything ran, so that second call is safe.
   */
  async call(portal: string, make: CallFor, deadline: number, read = false): Promise<PortalCallResult> {
    const connection = await this.#connections.get(portal);
    const used = await connection.endpoint(deadline);
    try {
      return await this.#send(portal, used, make, deadline, read);
    } catch (error) {
      if (!isCredentialsError(error)) throw error;
      const failure = error as TransferError;
      const next = await connection.recover(used, failure, deadline);
      // Credentials that would fail the same way: report the first error, not a second call.
      if (!next) throw error;
      const outcome = await this.#send(portal, next, make, deadline, read);
      return { ...outcome, attempts: outcome.attempts + (failure.details.attempts ?? 1) };
    }
  }

  /** `read`: a read-only call, safe to send again when an attempt's outcome is unknown. */
  async #send(portal: string, endpoint: PortalEndpoint, make: CallFor, deadline: number, read: boolean) {
    const { method, params } = make(endpoint.access);
    const restBase = this.#movedBase(endpoint.restBase) ?? endpoint.restBase;
    const outcome = await callEndpoint({ ...endpoint, restBase }, method, params, {
      deadline,
      attemptTimeoutMs: this.#config.attemptTimeoutMs,
      allowHttpLoopback: this.#config.allowHttpLoopback,
      ...(read ? { idempotent: true } : {}),
      moveDomains: this.#config.portalMoveDomains,
      portalHost: new URL(endpoint.restBase).host,
      ...(endpoint.access.clientId === undefined ? {} : { clientId: endpoint.access.clientId }),
      onMoved: (newBase) => this.#noteMove(portal, endpoint.restBase, newBase),
    });
    return {
      ...outcome,
      secrets: endpointSecrets(endpoint.restBase, endpoint.auth, endpoint.access.clientId),
    };
  }

  #movedBase(restBase: string): string | undefined {
    const moved = this.#moved.get(restBase);
    if (moved && Date.now() - moved.at < this.#config.secretCacheTtlMs) return moved.base;
    this.#moved.delete(restBase);
    return undefined;
  }

  #noteMove(portal: string, oldBase: string, newBase: string): void {
    this.#moved.set(oldBase, { base: newBase, at: Date.now() });
    logger.warn("the portal has moved to a new address; calls follow it, but update the portal's secret", {
      portal,
      newHost: new URL(newBase).host,
    });
    publishPortalMoved(portal);
  }
}
