import { afterAll, beforeAll, beforeEach } from "vitest";
import { type LocalAws, startLocalAws } from "../../scripts/local-aws.ts";
import { DEMO_BOT, type Simulator, startSimulator } from "../../scripts/simulator/index.ts";
import { type BundledHandler, loadBundle } from "./bundle.ts";

/**
 * The deployable bundle wired to real parts on loopback: the Bitrix24 simulator and a Secrets Manager
 * and SQS endpoint that the bundled AWS SDK clients really call.
 */
export interface Harness {
  sim: Simulator;
  secrets: LocalAws;
  /** A fresh handler (own caches) from the bundle. */
  newHandler(): BundledHandler;
}

export const MAIN_SECRET = "b24-transfer/main";
/** The failure queue's signing key, as the stack's generated secret would hold it. */
export const SIGNING_SECRET = "b24-transfer/failure-signing";
export const SIGNING_KEY = "test-signing-key-0123456789abcdef0123456789abcdef";

export function useBundleHarness(env: Record<string, string> = {}): Harness {
  const harness = {} as Harness;
  beforeAll(async () => {
    harness.sim = await startSimulator({ rateLimit: false });
    harness.secrets = await startLocalAws();
    Object.assign(process.env, harness.secrets.env(), {
      PORTALS: JSON.stringify({ main: MAIN_SECRET, other: "b24-transfer/other" }),
      DEFAULT_PORTAL: "main",
      ALLOW_HTTP_LOOPBACK: "true",
      FAILURE_QUEUE_URL: harness.secrets.queueUrl,
      FAILURE_SIGNING_SECRET: SIGNING_SECRET,
      ...env,
    });
    const bundle = await loadBundle();
    harness.newHandler = bundle.createHandler;
  });
  beforeEach(() => {
    harness.sim.reset();
    harness.secrets.reset();
    harness.secrets.put(SIGNING_SECRET, SIGNING_KEY);
    harness.secrets.put(
      MAIN_SECRET,
      JSON.stringify({ webhookUrl: harness.sim.webhookUrl(), clientId: DEMO_BOT.clientId }),
    );
  });
  afterAll(async () => {
    await harness.sim?.close();
    await harness.secrets?.close();
  });
  return harness;
}
