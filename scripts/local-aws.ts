import { createHash, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback stand-in for the two AWS APIs the function calls, Secrets Manager (GetSecretValue) and SQS
 * (SendMessageBatch), so the real AWS SDK clients run locally, in tests and in benchmarks, pointed here
 * by AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL_SQS.
 */
export interface LocalAws {
  url: string;
  /** GetSecretValue calls answered, by secret id. */
  readonly calls: Map<string, number>;
  /** Message bodies received by SendMessageBatch, parsed, by queue URL. */
  readonly messages: Map<string, unknown[]>;
  /** A queue URL that this endpoint accepts. */
  queueUrl: string;
  put(secretId: string, value: string): void;
  /** Answer the next `times` calls with this AWS error instead. */
  failNext(errorType: string, times?: number, status?: number): void;
  /** Forget injected failures and call counts; secrets stay. */
  reset(): void;
  /** Environment that points the SDK here with dummy credentials. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

export async function startLocalAws(): Promise<LocalAws> {
  const secrets = new Map<string, { value: string; versionId: string }>();
  const calls = new Map<string, number>();
  const messages = new Map<string, unknown[]>();
  const failures: { errorType: string; status: number }[] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify(body));
      };
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return reply(400, { __type: "SerializationException", message: "bad JSON" });
      }
      const target = req.headers["x-amz-target"];
      if (target === "AmazonSQS.SendMessageBatch") {
        const failure = failures.shift();
        if (failure)
          return reply(failure.status, {
            __type: failure.errorType,
            message: `injected ${failure.errorType}`,
          });
        const queue = String(input.QueueUrl);
        const entries = (input.Entries ?? []) as { Id: string; MessageBody: string }[];
        const list = messages.get(queue) ?? [];
        for (const entry of entries) list.push(JSON.parse(entry.MessageBody));
        messages.set(queue, list);
        return reply(200, {
          Successful: entries.map((entry) => ({
            Id: entry.Id,
            MessageId: randomUUID(),
            MD5OfMessageBody: createHash("md5").update(entry.MessageBody).digest("hex"),
          })),
          Failed: [],
        });
      }
      if (target !== "secretsmanager.GetSecretValue") {
        return reply(400, {
          __type: "UnknownOperationException",
          message: `${String(target)} is not served here`,
        });
      }
      const secretId = String(input.SecretId ?? "");
      calls.set(secretId, (calls.get(secretId) ?? 0) + 1);
      const failure = failures.shift();
      if (failure)
        return reply(failure.status, { __type: failure.errorType, message: `injected ${failure.errorType}` });
      const secret = secrets.get(secretId);
      if (!secret) {
        return reply(400, {
          __type: "ResourceNotFoundException",
          message: "Secrets Manager can't find the specified secret.",
        });
      }
      reply(200, {
        ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${secretId}-AbCdEf`,
        Name: secretId,
        SecretString: secret.value,
        VersionId: secret.versionId,
        VersionStages: ["AWSCURRENT"],
        CreatedDate: Date.now() / 1000,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    calls,
    messages,
    queueUrl: `${url}/000000000000/b24-transfer-failures`,
    put(secretId, value) {
      secrets.set(secretId, { value, versionId: randomUUID() });
    },
    failNext(errorType, times = 1, status = 400) {
      for (let i = 0; i < times; i++) failures.push({ errorType, status });
    },
    reset() {
      failures.length = 0;
      calls.clear();
      messages.clear();
    },
    env: () => ({
      AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
      AWS_ENDPOINT_URL_SQS: url,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKIDLOCAL",
      AWS_SECRET_ACCESS_KEY: "local-secret-key",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
