import { createHash, randomUUID } from "node:crypto";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Context } from "aws-lambda";
import { lambdaContext } from "./local-api.ts";

interface StoredMessage {
  messageId: string;
  body: string;
  attributes: Record<string, unknown> | undefined;
  receiveCount: number;
  visibleAt: number;
  receiptHandle: string | undefined;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/**
 * A loopback stand-in for the AWS APIs the function and the operator scripts call: Secrets Manager
 * (GetSecretValue), SQS (SendMessageBatch, SendMessage, ReceiveMessage, DeleteMessage,
 * ChangeMessageVisibility) and Lambda (Invoke, of handlers registered with `addFunction`), so the real
 * AWS SDK clients run locally, in tests and in benchmarks, pointed here by AWS_ENDPOINT_URL_*.
 */
export interface LocalAws {
  url: string;
  /** GetSecretValue calls answered, by secret id. */
  readonly calls: Map<string, number>;
  /** Message bodies received by SendMessageBatch, parsed, by queue URL. */
  readonly messages: Map<string, unknown[]>;
  /** A queue URL that this endpoint accepts. */
  queueUrl: string;
  /** Messages still in each queue (not deleted), visible or not. */
  queued(queueUrl: string): {
    messageId: string;
    body: string;
    receiveCount: number;
    attributes: Record<string, unknown> | undefined;
  }[];
  /** Serve Lambda Invoke for this function name with `handler` (errors come back as FunctionError). */
  addFunction(name: string, handler: (event: unknown, context: Context) => Promise<unknown>): void;
  /** Invoke calls served, by function name. */
  readonly invocations: Map<string, number>;
  put(secretId: string, value: string): void;
  /** Answer the next `times` calls (of `target`, e.g. "AmazonSQS.DeleteMessage", or any) with this AWS error. */
  failNext(errorType: string, times?: number, status?: number, target?: string): void;
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
  const failures: { errorType: string; status: number; target: string | undefined }[] = [];
  const queues = new Map<string, StoredMessage[]>();
  const functions = new Map<string, (event: unknown, context: Context) => Promise<unknown>>();
  const invocations = new Map<string, number>();
  const queue = (url: string) => {
    const list = queues.get(url) ?? [];
    queues.set(url, list);
    return list;
  };
  const takeFailure = (target: string) => {
    const index = failures.findIndex((failure) => failure.target === undefined || failure.target === target);
    return index < 0 ? undefined : failures.splice(index, 1)[0];
  };
  const enqueue = (url: string, body: string, attributes?: Record<string, unknown>) => {
    const messageId = randomUUID();
    queue(url).push({ messageId, body, attributes, receiveCount: 0, visibleAt: 0, receiptHandle: undefined });
    const list = messages.get(url) ?? [];
    list.push(JSON.parse(body));
    messages.set(url, list);
    return { MessageId: messageId, MD5OfMessageBody: createHash("md5").update(body).digest("hex") };
  };
  const sqs: Record<string, (input: Record<string, unknown>) => unknown> = {
    SendMessage: (input) =>
      enqueue(
        String(input.QueueUrl),
        String(input.MessageBody),
        input.MessageAttributes as Record<string, unknown> | undefined,
      ),
    SendMessageBatch: (input) => {
      const entries = (input.Entries ?? []) as {
        Id: string;
        MessageBody: string;
        MessageAttributes?: Record<string, unknown>;
      }[];
      return {
        Successful: entries.map((entry) => ({
          Id: entry.Id,
          ...enqueue(String(input.QueueUrl), entry.MessageBody, entry.MessageAttributes),
        })),
        Failed: [],
      };
    },
    ReceiveMessage: (input) => {
      const now = Date.now();
      const max = Number(input.MaxNumberOfMessages ?? 1);
      const timeoutMs = Number(input.VisibilityTimeout ?? 30) * 1000;
      const visible = queue(String(input.QueueUrl))
        .filter((message) => message.visibleAt <= now)
        .slice(0, max);
      return {
        Messages: visible.map((message) => {
          message.receiveCount++;
          message.visibleAt = now + timeoutMs;
          message.receiptHandle = randomUUID();
          return {
            MessageId: message.messageId,
            ReceiptHandle: message.receiptHandle,
            Body: message.body,
            MD5OfBody: createHash("md5").update(message.body).digest("hex"),
            Attributes: { ApproximateReceiveCount: String(message.receiveCount) },
            ...(message.attributes ? { MessageAttributes: message.attributes } : {}),
          };
        }),
      };
    },
    DeleteMessage: (input) => {
      const list = queue(String(input.QueueUrl));
      const index = list.findIndex((message) => message.receiptHandle === input.ReceiptHandle);
      if (index >= 0) list.splice(index, 1);
      return {};
    },
    ChangeMessageVisibility: (input) => {
      const message = queue(String(input.QueueUrl)).find((m) => m.receiptHandle === input.ReceiptHandle);
      if (message) message.visibleAt = Date.now() + Number(input.VisibilityTimeout) * 1000;
      return {};
    },
  };

  const invoke = async (name: string, raw: string, res: ServerResponse) => {
    const handler = functions.get(name);
    if (!handler) {
      res.writeHead(404, {
        "content-type": "application/json",
        "x-amzn-errortype": "ResourceNotFoundException",
      });
      res.end(JSON.stringify({ Type: "User", message: `Function not found: ${name}` }));
      return;
    }
    invocations.set(name, (invocations.get(name) ?? 0) + 1);
    // As Lambda does: a thrown error is a 200 with X-Amz-Function-Error and {errorType, errorMessage}.
    try {
      const result = await handler(raw ? JSON.parse(raw) : {}, lambdaContext(28_000));
      res.writeHead(200, { "content-type": "application/json", "x-amz-executed-version": "$LATEST" });
      res.end(JSON.stringify(result ?? null));
    } catch (error) {
      const { name: errorType, message: errorMessage } =
        error instanceof Error ? error : { name: "Error", message: String(error) };
      res.writeHead(200, { "content-type": "application/json", "x-amz-function-error": "Unhandled" });
      res.end(JSON.stringify({ errorType, errorMessage }));
    }
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const invokeMatch = INVOKE_PATH.exec(req.url ?? "");
      if (invokeMatch)
        return void invoke(
          decodeURIComponent(invokeMatch[1] as string),
          Buffer.concat(chunks).toString("utf8"),
          res,
        );
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
      const action = typeof target === "string" && target.startsWith("AmazonSQS.") ? target.slice(10) : "";
      const sqsAction = sqs[action];
      if (sqsAction) {
        const failure = takeFailure(target as string);
        if (failure)
          return reply(failure.status, {
            __type: failure.errorType,
            message: `injected ${failure.errorType}`,
          });
        return reply(200, sqsAction(input));
      }
      if (target !== "secretsmanager.GetSecretValue") {
        return reply(400, {
          __type: "UnknownOperationException",
          message: `${String(target)} is not served here`,
        });
      }
      const secretId = String(input.SecretId ?? "");
      calls.set(secretId, (calls.get(secretId) ?? 0) + 1);
      const failure = takeFailure(target);
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
    queued: (queueUrl) =>
      (queues.get(queueUrl) ?? []).map(({ messageId, body, receiveCount, attributes }) => ({
        messageId,
        body,
        receiveCount,
        attributes,
      })),
    addFunction(name, handler) {
      functions.set(name, handler);
    },
    invocations,
    failNext(errorType, times = 1, status = 400, target = undefined) {
      for (let i = 0; i < times; i++) failures.push({ errorType, status, target });
    },
    reset() {
      failures.length = 0;
      calls.clear();
      messages.clear();
      queues.clear();
      invocations.clear();
    },
    env: () => ({
      AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
      AWS_ENDPOINT_URL_SQS: url,
      AWS_ENDPOINT_URL_LAMBDA: url,
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
