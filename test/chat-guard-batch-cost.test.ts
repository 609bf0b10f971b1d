import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { type LocalAws, startLocalAws } from "../scripts/local-aws.ts";
import { DEMO_BOT, demoPortal, type Simulator, startSimulator } from "../scripts/simulator/index.ts";
import { loadBundle } from "./support/bundle.ts";

/**
 * The guard's price in a full batch: 50 chats with the bot cost one `batch` call of reads and one of
 * transfers, plus the portal's bot list at most once per container; never a `dialog.get` per chat.
 */
const FIRST = 6000;
let sim: Simulator;
let aws: LocalAws;

beforeAll(async () => {
  const seed = demoPortal();
  const chats = [...seed.chats];
  for (let id = FIRST; id < FIRST + 50; id++) chats.push({ id, lineId: 3, botIds: [DEMO_BOT.id] });
  sim = await startSimulator({ rateLimit: false, portal: { ...seed, chats } });
  aws = await startLocalAws();
  Object.assign(process.env, aws.env(), {
    PORTALS: JSON.stringify({ main: "b24-transfer/cost" }),
    DEFAULT_PORTAL: "main",
    ALLOW_HTTP_LOOPBACK: "true",
  });
  aws.put("b24-transfer/cost", JSON.stringify({ webhookUrl: sim.webhookUrl(), clientId: DEMO_BOT.clientId }));
});
afterAll(async () => {
  await sim?.close();
  await aws?.close();
});

describe("a 50-chat batch with the guard", () => {
  it("reads all 50 in one batch call, then hands all 50 over", async () => {
    const { createHandler } = await loadBundle();
    const transfers = Array.from({ length: 50 }, (_, index) => ({ chatId: FIRST + index, operatorId: 12 }));
    const answer = (await createHandler()({ transfers }, lambdaContext(10_000))) as { succeeded: number };
    expect(answer.succeeded).toBe(50);
    expect(sim.ledger).toHaveLength(50);
    const methods = sim.hits.map((hit) => hit.method);
    expect(methods.filter((method) => method === "batch")).toHaveLength(2);
    expect(methods.filter((method) => method !== "batch" && method !== "imbot.bot.list")).toEqual([]);
    expect(methods.filter((method) => method === "imbot.bot.list").length).toBeLessThanOrEqual(1);
  });
});
