import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../lambda/config.ts";
import { createTransferService } from "../lambda/service/transfer-service.ts";
import { DEMO_BOT, demoPortal, type Simulator, startSimulator } from "../scripts/simulator/index.ts";

/**
 * A 50-item batch where every item has a message needs 100 commands; Bitrix24 runs at most 50 per
 * `batch` call and answers ERROR_BATCH_LENGTH_EXCEEDED for the rest (rest_provider.php `batch`). The
 * service splits it, keeping each chat's message just before its transfer.
 */
const secretsManager = mockClient(SecretsManagerClient);
const CHATS = Array.from({ length: 50 }, (_, i) => 2000 + i);
let sim: Simulator;

beforeAll(async () => {
  const portal = demoPortal();
  sim = await startSimulator({
    rateLimit: false,
    portal: { ...portal, chats: CHATS.map((id) => ({ id, lineId: 3, botIds: [DEMO_BOT.id] })) },
  });
  secretsManager.on(GetSecretValueCommand).resolves({
    SecretString: JSON.stringify({ webhookUrl: sim.webhookUrl(), clientId: DEMO_BOT.clientId }),
    VersionId: "v1",
  });
});
afterAll(async () => {
  secretsManager.restore();
  await sim.close();
});

it("moves 50 chats with a message each in two batch calls after the guard's one, every message just before its transfer", async () => {
  const service = createTransferService(
    loadConfig({ PORTALS: JSON.stringify({ main: "s" }), ALLOW_HTTP_LOOPBACK: "true" }),
  );
  const outcome = await service.transferBatch(
    CHATS.map((chatId) => ({
      chatId,
      target: { queueId: 3 },
      leave: false,
      message: `Chat ${chatId}: один момент 🙏`,
    })),
    Date.now() + 20_000,
  );
  expect(outcome.items.every((item) => item.ok)).toBe(true);
  // The guard's 50 reads in one call, then 100 commands (message + transfer each) in two.
  expect(sim.hits.filter((hit) => hit.method === "batch").map((hit) => hit.status)).toEqual([200, 200, 200]);
  expect(sim.ledger.map((record) => record.chatId).sort()).toEqual(CHATS);
  expect(sim.messages.map((message) => message.message)).toEqual(
    CHATS.map((id) => `Chat ${id}: один момент 🙏`),
  );
  for (const chatId of CHATS) {
    const message = sim.messages.find((record) => record.chatId === chatId);
    const transfer = sim.ledger.find((record) => record.chatId === chatId);
    expect(transfer?.seq).toBe((message?.seq ?? Number.NaN) + 1);
  }
});
