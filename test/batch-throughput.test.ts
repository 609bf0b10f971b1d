import { afterAll, beforeAll, expect, it } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { type LocalAws, startLocalAws } from "../scripts/local-aws.ts";
import { DEMO_BOT, demoPortal, type Simulator, startSimulator } from "../scripts/simulator/index.ts";
import { type BundledHandler, loadBundle } from "./support/bundle.ts";

/**
 * Batch vs single calls under Bitrix24's limit (burst 50, drain 2/s), on a clock running 50× faster so
 * the test takes about a second. Throughput is printed, not asserted: timing belongs to `npm run bench`;
 * what is asserted is that every transfer happened exactly once either way.
 */
const SCALE = 50;
const COUNT = 150;
let sim: Simulator;
let aws: LocalAws;
let handler: BundledHandler;
const epoch = Date.now();
const simulatedNow = () => epoch + (Date.now() - epoch) * SCALE;

beforeAll(async () => {
  const seed = demoPortal();
  const chats = Array.from({ length: COUNT }, (_, i) => ({ id: 1000 + i, lineId: 3, botIds: [7] }));
  sim = await startSimulator({ portal: { ...seed, chats: [...seed.chats, ...chats] }, now: simulatedNow });
  aws = await startLocalAws();
  aws.put("b24/main", JSON.stringify({ webhookUrl: sim.webhookUrl(), clientId: DEMO_BOT.clientId }));
  Object.assign(process.env, aws.env(), {
    PORTALS: JSON.stringify({ main: "b24/main" }),
    ALLOW_HTTP_LOOPBACK: "true",
  });
  handler = (await loadBundle()).createHandler();
});
afterAll(async () => {
  await sim.close();
  await aws.close();
});

const requests = Array.from({ length: COUNT }, (_, i) => ({ chatId: 1000 + i, operatorId: 12 }));

async function timed(run: () => Promise<void>): Promise<number> {
  sim.reset();
  const started = simulatedNow();
  await run();
  return (simulatedNow() - started) / 1000;
}

it("moves many more chats per second in batches than in single calls, each exactly once", async () => {
  const single = await timed(async () => {
    for (const request of requests) await handler(request, lambdaContext(60_000));
  });
  expect(sim.ledger.map((r) => r.chatId)).toEqual(requests.map((r) => r.chatId));

  const batched = await timed(async () => {
    for (let i = 0; i < COUNT; i += 50)
      await handler({ transfers: requests.slice(i, i + 50) }, lambdaContext(60_000));
  });
  expect(sim.ledger.map((r) => r.chatId)).toEqual(requests.map((r) => r.chatId));
  // Per 50 chats: one batch call of the guard's reads, one of transfers.
  expect(sim.hits.filter((hit) => hit.method === "batch")).toHaveLength((COUNT / 50) * 2);
  expect(sim.hits.filter((hit) => hit.method !== "batch" && hit.method !== "imbot.bot.list")).toEqual([]);

  console.log(
    `throughput under the limit (${COUNT} transfers, simulated seconds): single ${(COUNT / single).toFixed(1)}/s, ` +
      `batch ${(COUNT / Math.max(batched, 0.001)).toFixed(1)}/s`,
  );
});
