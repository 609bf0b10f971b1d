import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

/**
 * A loopback emulation of the AWS Parameters and Secrets Lambda Extension's documented HTTP API, for
 * local runs, tests and benchmarks: `GET /secretsmanager/get?secretId=…` with the header
 * X-Aws-Parameters-Secrets-Token equal to the function's AWS_SESSION_TOKEN, answered with the
 * GetSecretValue JSON from a cache kept `ttlMs`; on a miss it calls Secrets Manager (here the
 * scripts/local-aws.ts stand-in) with the real SDK, as the extension does. What it does not model: the
 * extension's own start-up inside the Lambda sandbox and its TLS connection to Secrets Manager.
 */
export interface LocalSecretsExtension {
  port: number;
  /** Requests answered, cache hits included. */
  readonly requests: number;
  /** The function's environment: the extension's port and the session token it checks. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

export interface LocalSecretsExtensionOptions {
  /** Secrets Manager's endpoint (the stand-in's URL). */
  upstream: string;
  ttlMs?: number;
  /** The session token the function sends; a fresh random one by default. */
  sessionToken?: string;
}

export async function startLocalSecretsExtension({
  upstream,
  ttlMs = 300_000,
  sessionToken = randomBytes(16).toString("hex"),
}: LocalSecretsExtensionOptions): Promise<LocalSecretsExtension> {
  const client = new SecretsManagerClient({
    endpoint: upstream,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local-secret-key" },
    maxAttempts: 1,
  });
  const cache = new Map<string, { body: string; at: number }>();
  let requests = 0;

  const server: Server = createServer((req, res) => {
    requests++;
    const reply = (status: number, body: string) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(body);
    };
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method !== "GET" || url.pathname !== "/secretsmanager/get") return reply(404, "not found");
    if (req.headers["x-aws-parameters-secrets-token"] !== sessionToken) return reply(401, "unauthorized");
    const secretId = url.searchParams.get("secretId");
    if (!secretId) return reply(400, "secretId is required");
    const cached = cache.get(secretId);
    if (cached && Date.now() - cached.at < ttlMs) return reply(200, cached.body);
    client.send(new GetSecretValueCommand({ SecretId: secretId })).then(
      (output) => {
        const { $metadata: _metadata, ...fields } = output;
        const body = JSON.stringify(fields);
        cache.set(secretId, { body, at: Date.now() });
        reply(200, body);
      },
      (error: unknown) => {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        reply(status ?? 500, error instanceof Error ? error.name : "error");
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    get requests() {
      return requests;
    },
    env: () => ({
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port),
      AWS_SESSION_TOKEN: sessionToken,
      SECRETS_MANAGER_TTL: String(Math.floor(ttlMs / 1000)),
    }),
    close: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
