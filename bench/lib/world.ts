import { type LocalAws, startLocalAws } from "../../scripts/local-aws.ts";
import { startDynamo } from "../../scripts/local-dynamodb.ts";
import {
  type LocalSecretsExtension,
  startLocalSecretsExtension,
} from "../../scripts/local-secrets-extension.ts";
import {
  DEMO_BOT,
  DEMO_WEBHOOK,
  demoPortal,
  type PortalSeed,
  type RateLimit,
  type Simulator,
  startSimulator,
} from "../../scripts/simulator/index.ts";
import { type Certificate, makeCertificate, startTlsTerminator, type TlsTerminator } from "./tls.ts";

/**
 * Everything the children talk to, all on 127.0.0.1: the Bitrix24 simulator and the Secrets Manager
 * stand-in, each behind a TLS terminator (real handshakes, trusted through NODE_EXTRA_CA_CERTS), so the
 * real AWS SDK, fetch and the official Bitrix24 SDK run unmodified.
 */

/** Open Lines chats 1000.. (bot 7 in each) next to the demo portal's, so every call can use its own chat. */
export function benchPortal(first: number, count: number): PortalSeed {
  const seed = demoPortal();
  const chats = [...seed.chats];
  for (let id = first; id < first + count; id++)
    chats.push({ id, lineId: id % 2 === 0 ? 3 : 4, botIds: [7] });
  return { ...seed, chats };
}

export const WARM_CHATS = { first: 1000, count: 500 } as const;
export const SECRET_ID = "b24-transfer/bench";

export interface World {
  certificate: Certificate;
  simulator: Simulator;
  simulatorTls: TlsTerminator;
  secrets: LocalAws;
  secretsTls: TlsTerminator;
  /** The Parameters and Secrets extension's HTTP API, emulated; `extension.env()` points ours at it. */
  extension: LocalSecretsExtension;
  /** The webhook REST base over TLS: https://127.0.0.1:<port>/rest/1/<code>/ */
  webhookUrl: string;
  /** A clean environment for a child: nothing inherited but PATH and HOME (no NODE_OPTIONS from npm/tsx). */
  childEnv(extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** A rate-limited simulator on plain http with its own clock (for throughput), registered as a portal secret. */
  startLimitedSimulator(options: {
    rateLimit: RateLimit;
    now: () => number;
    portal: PortalSeed;
    secretId: string;
  }): Promise<Simulator>;
  close(): Promise<void>;
}

export const IDEMPOTENCY_TABLE = "b24-transfer-bench-idempotency";

export async function startWorld(): Promise<World> {
  const certificate = makeCertificate();
  // DynamoDB (dynalite) for requests that carry an Idempotency-Key.
  const dynamo = await startDynamo(IDEMPOTENCY_TABLE);
  const simulator = await startSimulator({
    rateLimit: false,
    portal: benchPortal(WARM_CHATS.first, WARM_CHATS.count),
  });
  const simulatorTls = await startTlsTerminator(certificate, simulator.port);
  const secrets = await startLocalAws();
  const secretsTls = await startTlsTerminator(certificate, Number(new URL(secrets.url).port));
  // On Lambda the extension reaches Secrets Manager over TLS from its own process; here over plain http.
  const extension = await startLocalSecretsExtension({ upstream: secrets.url });
  const webhookUrl = `${simulatorTls.url}/rest/${DEMO_WEBHOOK.userId}/${DEMO_WEBHOOK.code}/`;
  secrets.put(SECRET_ID, JSON.stringify({ webhookUrl, clientId: DEMO_BOT.clientId }));
  const extraSimulators: Simulator[] = [];

  return {
    certificate,
    simulator,
    simulatorTls,
    secrets,
    secretsTls,
    extension,
    webhookUrl,
    childEnv(extra = {}) {
      return {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        // What the Lambda runtime sets, as far as the SDKs read it (credentials come from the environment there too).
        AWS_REGION: "eu-central-1",
        AWS_DEFAULT_REGION: "eu-central-1",
        AWS_ACCESS_KEY_ID: "ASIABENCHLOCAL000000",
        AWS_SECRET_ACCESS_KEY: "bench-local-secret-access-key",
        AWS_SESSION_TOKEN: "bench-local-session-token",
        AWS_EXECUTION_ENV: "AWS_Lambda_nodejs20.x",
        AWS_LAMBDA_FUNCTION_NAME: "b24-transfer-bench",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512",
        AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
        AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsTls.url,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
        IDEMPOTENCY_TABLE,
        NODE_EXTRA_CA_CERTS: certificate.certFile,
        // Ours reads PORTALS/DEFAULT_PORTAL; the baselines read SECRET_ID.
        PORTALS: JSON.stringify({ bench: SECRET_ID }),
        DEFAULT_PORTAL: "bench",
        SECRET_ID,
        ...extra,
      };
    },
    async startLimitedSimulator({ rateLimit, now, portal, secretId }) {
      const limited = await startSimulator({ rateLimit, now, portal });
      extraSimulators.push(limited);
      secrets.put(
        secretId,
        JSON.stringify({ webhookUrl: limited.webhookUrl(), clientId: DEMO_BOT.clientId }),
      );
      return limited;
    },
    async close() {
      await Promise.allSettled([
        simulatorTls.close(),
        secretsTls.close(),
        simulator.close(),
        secrets.close(),
        extension.close(),
        dynamo.close(),
        ...extraSimulators.map((extra) => extra.close()),
      ]);
      certificate.dispose();
    },
  };
}
