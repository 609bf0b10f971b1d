import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../lambda/config.ts";
import { createTransferService } from "../lambda/service/transfer-service.ts";

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
  secretsManager.on(GetSecretValueCommand).resolves({
    SecretString: JSON.stringify({ webhookUrl: base, clientId: "b24-transfer-tests" }),
  });
});
afterAll(async () => {
  secretsManager.restore();
  await new Promise((resolve) => server.close(resolve));
});

const ok = (keys: string[]) => Object.fromEntries(keys.map((key) => [key, true]));

const service = () =>
  createTransferService(loadConfig({ PORTALS: JSON.stringify({ main: "s" }), ALLOW_HTTP_LOOPBACK: "true" }));
// Unguarded: the scripted portal answers transfer batches only (the guard's reads: test/chat-guard-flow.test.ts).
const requests = (...chats: number[]) =>
  chats.map((chatId) => ({ chatId, target: { operatorId: 12 }, leave: false, guard: false as const }));
const codes = (items: { ok: boolean; error?: { code: string } }[]) =>
  items.map((item) => (item.ok ? "ok" : item.error?.code));

it("re-sends only commands that certainly did not run: rate-limited ones, and a lock refusal once", async () => {
  answers = [
    () => ({
      result: {
        result: ok(["t0"]),
        result_error: {
          t1: { error: "QUERY_LIMIT_EXCEEDED", error_description: "Too many requests" },
          t2: { error: "OPERATOR_WRONG", error_description: "You can not redirect to this operator" },
          t3: { error: "INTERNAL_SERVER_ERROR", error_description: "may have run" },
          t4: { error: "ERROR_CORE", error_description: "may have run" },
        },
      },
    }),
    (cmd) => ({
      result: {
        result: ok(Object.keys(cmd).filter((key) => key !== "t2")),
        result_error: { t2: { error: "OPERATOR_WRONG", error_description: "still" } },
      },
    }),
  ];
  received.length = 0;
  const outcome = await service().transferBatch(requests(112, 113, 114, 115, 116), Date.now() + 10_000);

  expect(received.map((cmd) => Object.keys(cmd))).toEqual([
    ["t0", "t1", "t2", "t3", "t4"],
    ["t1", "t2"],
  ]);
  expect(received[0]?.t1).toBe(
    "imopenlines.bot.session.transfer?CHAT_ID=113&USER_ID=12&LEAVE=N&CLIENT_ID=b24-transfer-tests",
  );
  expect(codes(outcome.items)).toEqual([
    "ok",
    "ok",
    "TRANSFER_REJECTED",
    "OUTCOME_UNKNOWN",
    "OUTCOME_UNKNOWN",
  ]);
  expect(outcome.attempts).toBe(2);
});

it("never re-sends a command whose result is false or missing: its outcome is unknown", async () => {
  answers = [() => ({ result: { result: { t0: true, t1: false }, result_error: [] } })];
  received.length = 0;
  const outcome = await service().transferBatch(requests(112, 113, 114), Date.now() + 10_000);
  expect(received).toHaveLength(1);
  expect(codes(outcome.items)).toEqual(["ok", "OUTCOME_UNKNOWN", "OUTCOME_UNKNOWN"]);
  expect(outcome.items[1]?.ok === false && outcome.items[1].error.details.detail).toContain(
    "did not confirm",
  );
  expect(outcome.items[2]?.ok === false && outcome.items[2].error.details.detail).toContain("gave no answer");
});
