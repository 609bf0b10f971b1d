import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../lambda/config.ts";
import { createTransferService } from "../lambda/transfer-service.ts";

/**
 * A portal whose batch answers are scripted per call, to see exactly which commands a retry re-sends.
 * (The simulator's faults act on whole requests; this needs one command to fail on its own.)
 */
const secretsManager = mockClient(SecretsManagerClient);
const received: Record<string, string>[] = [];
let answers: ((cmd: Record<string, string>) => unknown)[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const cmd = JSON.parse(body).cmd as Record<string, string>;
      received.push(cmd);
      const answer = answers.shift()?.(cmd) ?? { result: { result: {}, result_error: {} } };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rest/1/code/`;
  secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ webhookUrl: base }) });
});
afterAll(async () => {
  secretsManager.restore();
  await new Promise((resolve) => server.close(resolve));
});

const ok = (keys: string[]) => Object.fromEntries(keys.map((key) => [key, true]));

it("retries only the commands that failed with a retryable error", async () => {
  answers = [
    () => ({
      result: {
        result: ok(["t0"]),
        result_error: {
          t1: { error: "INTERNAL_SERVER_ERROR", error_description: "try again" },
          t2: { error: "OPERATOR_WRONG", error_description: "no" },
        },
      },
    }),
    (cmd) => ({ result: { result: ok(Object.keys(cmd)), result_error: [] } }),
  ];
  const service = createTransferService(
    loadConfig({ PORTALS: JSON.stringify({ main: "s" }), ALLOW_HTTP_LOOPBACK: "true" }),
  );
  const requests = [112, 113, 114].map((chatId) => ({ chatId, target: { operatorId: 12 }, leave: false }));
  const outcome = await service.transferBatch(requests, Date.now() + 10_000);

  expect(received.map((cmd) => Object.keys(cmd))).toEqual([["t0", "t1", "t2"], ["t1"]]);
  expect(received[0]?.t1).toBe("imopenlines.bot.session.transfer?CHAT_ID=113&USER_ID=12&LEAVE=N");
  expect(outcome.items.map((item) => (item.ok ? "ok" : item.error.code))).toEqual([
    "ok",
    "ok",
    "TRANSFER_REJECTED",
  ]);
  expect(outcome.attempts).toBe(2);
});
