import { loadHttps } from "./bitrix24/http-exchange.ts";
import { type Dependencies, defaultDependencies } from "./handlers/dependencies.ts";
import { createHandler } from "./handlers/transfer-handler.ts";

let built: Dependencies | undefined;
const dependencies = () => (built ??= defaultDependencies());

export const handler = createHandler({ dependencies });

/**
 * On Lambda, INIT reads the default portal's secret, so a proactively initialised environment (and
 * provisioned concurrency) meets its first request with it cached. Bounded, and silent on failure: the
 * first request then reads it again and reports what went wrong. Top-level await keeps the read inside
 * INIT, so no request is left in flight across the freeze that follows it. While the read waits on the
 * network, INIT loads node:https for the first Bitrix24 call (CPU work that would otherwise come after).
 */
const INIT_READ_LIMIT_MS = 2000;
if (process.env.AWS_LAMBDA_INITIALIZATION_TYPE) await readDefaultPortalSecret();

async function readDefaultPortalSecret(): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const read = dependencies().service.prepare();
    loadHttps();
    await Promise.race([
      read,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, INIT_READ_LIMIT_MS);
      }),
    ]);
  } catch {
    // A configuration error: every request reports it.
  } finally {
    clearTimeout(timer);
  }
}

/** For tests and local tools that need a handler with its own caches. */
export { createHandler } from "./handlers/transfer-handler.ts";
