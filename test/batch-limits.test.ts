import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../lambda/config.ts";
import type { TransferRequest } from "../lambda/domain/transfer-request.ts";
import { createTransferService } from "../lambda/service/transfer-service.ts";
import { DEMO_BOT, type Simulator, startSimulator } from "../scripts/simulator/index.ts";

/**
 * Issue 24, item 3: LoadLimiter refuses a batch command alone (429 OPERATION_TIME_LIMIT inside a 200
 * batch answer) while the commands around it run. The batch driver sends again only what Bitrix24 says
 * it did not run, in its next round, within the deadline: a message that was written is not written
 * again, and each chat is handed over once.
 */
const TRANSFER = "imopenlines.bot.session.transfer";
const secretsManager = mockClient(SecretsManagerClient);
let sim: Simulator;
/** The portal's clock: moved on by `skipMs` once the first request was answered. */
const clock = { skipMs: 0 };

beforeAll(async () => {
  sim = await startSimulator({
    rateLimit: false,
    now: () => Date.now() + (sim?.hits.length ? clock.skipMs : 0),
  });
  secretsManager.on(GetSecretValueCommand).resolves({
    SecretString: JSON.stringify({ webhookUrl: sim.webhookUrl(), clientId: DEMO_BOT.clientId }),
  });
});
afterAll(async () => {
  secretsManager.restore();
  await sim.close();
});
beforeEach(() => {
  sim.reset();
  clock.skipMs = 0;
});

const service = () =>
  createTransferService(loadConfig({ PORTALS: JSON.stringify({ main: "s" }), ALLOW_HTTP_LOOPBACK: "true" }));
const withMessage = (chatId: number): TransferRequest => ({
  chatId,
  target: { operatorId: 12 },
  leave: false,
  message: "An operator takes over",
});
const batchHits = () => sim.hits.filter((hit) => hit.method === "batch");

describe("a batch whose transfer method is over its operating-time budget", () => {
  it("re-sends only the refused transfers once the budget is released, never the written messages", async () => {
    // 421 s of the transfer's 420 s used: its commands are refused, the messages' method is not.
    sim.spendOperatingTime(TRANSFER, 421);
    // Ten minutes later on the portal's clock (after the first batch), every bucket has expired.
    clock.skipMs = 11 * 60_000;

    const outcome = await service().transferBatch([withMessage(112), withMessage(113)], Date.now() + 20_000);

    expect(outcome.items.map((item) => item.ok)).toEqual([true, true]);
    expect(batchHits()).toHaveLength(2);
    expect(sim.messages.map((record) => record.chatId)).toEqual([112, 113]);
    expect(sim.ledger.map((record) => record.chatId)).toEqual([112, 113]);
    expect(outcome.items[0]).toMatchObject({ ok: true, result: { message: { sent: true } } });
  });

  it("within the deadline only: a budget still spent ends as RATE_LIMITED, nothing transferred, messages once", async () => {
    sim.spendOperatingTime(TRANSFER, 421);

    const outcome = await service().transferBatch([withMessage(112), withMessage(113)], Date.now() + 3_000);

    expect(outcome.items.map((item) => (item.ok ? "ok" : item.error.code))).toEqual([
      "RATE_LIMITED",
      "RATE_LIMITED",
    ]);
    expect(outcome.items[0]).toMatchObject({
      ok: false,
      error: { details: { bitrix24: { error: "OPERATION_TIME_LIMIT" }, message: { sent: true } } },
    });
    expect(batchHits().length).toBeGreaterThan(1);
    expect(sim.messages.map((record) => record.chatId)).toEqual([112, 113]);
    expect(sim.ledger).toEqual([]);
  });

  it("a single call is refused with 429 and not sent again (the block lasts until buckets expire)", async () => {
    sim.spendOperatingTime(TRANSFER, 421);
    const error = await service()
      // Without the guard: its read is another method, with a budget of its own.
      .transfer({ chatId: 112, target: { operatorId: 12 }, leave: false, guard: false }, Date.now() + 5_000)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RATE_LIMITED", details: { retryAfter: 600 } });
    expect(sim.hits.map((hit) => [hit.status, hit.error])).toEqual([[429, "OPERATION_TIME_LIMIT"]]);
  });

  it("the limit is LoadLimiter's 420 s by default: 420 s used still runs", async () => {
    sim.spendOperatingTime(TRANSFER, 420);
    await expect(
      service().transfer({ chatId: 112, target: { operatorId: 12 }, leave: false }, Date.now() + 5_000),
    ).resolves.toMatchObject({ result: { transferred: true } });
  });
});
