import { afterAll, beforeAll, expect, it } from "vitest";
import { demoPortal, type Simulator, startSimulator } from "../scripts/simulator/index.ts";
import { failure } from "./support/failure.ts";
import { OAUTH_SECRET, oauthContainer, oauthSecretValue } from "./support/oauth-portal.ts";
import { SecretsManagerModel } from "./support/secrets-manager-model.ts";

/**
 * An application acts as the first bot it registered (im/lib/bot.php `getBotIdByAppId`): one that
 * registered none gets BOT_ID_ERROR, which must tell the admin what to do, after one Bitrix24 call.
 */
const model = new SecretsManagerModel();
const stub = model.attach();
let sim: Simulator;
beforeAll(async () => {
  const portal = demoPortal();
  sim = await startSimulator({
    rateLimit: false,
    portal: { ...portal, bots: portal.bots?.filter((bot) => bot.id !== 9) },
  });
});
afterAll(async () => {
  stub.restore();
  await sim.close();
});

it("reports an application without a bot of its own as PORTAL_MISCONFIGURED naming imbot.register", async () => {
  model.seed(OAUTH_SECRET, oauthSecretValue(sim, sim.installApp()));
  const error = await failure(
    oauthContainer(sim).transfer(
      { chatId: 112, target: { operatorId: 12 }, leave: false },
      Date.now() + 10_000,
    ),
  );
  expect([error.code, error.details.bitrix24?.error]).toEqual(["PORTAL_MISCONFIGURED", "BOT_ID_ERROR"]);
  expect(error.details.detail).toContain("an application must register its own bot");
  expect(error.details.detail).toContain("imbot.register");
  expect(sim.hits.filter((hit) => hit.method === "imopenlines.bot.session.transfer")).toHaveLength(1);
  expect(sim.ledger).toHaveLength(0);
});
