import { afterEach, describe, expect, it } from "vitest";
import { type Simulator, startSimulator } from "../scripts/simulator/index.ts";

/** imbot.bot.list as im/classes/general/im_rest.php botList answers it: the guard tells bots from people by it. */
describe("the simulator's imbot.bot.list", () => {
  let simulator: Simulator | undefined;
  afterEach(async () => simulator?.close());

  it("lists every bot of the portal by id, whoever registered it", async () => {
    simulator = await startSimulator();
    const response = await fetch(`${simulator.webhookUrl()}imbot.bot.list.json`, { method: "POST" });
    const body = (await response.json()) as { result: Record<string, { ID: number; CODE: string }> };
    expect(response.status).toBe(200);
    expect(Object.keys(body.result).sort()).toEqual(["7", "8", "9"]);
    expect(body.result["7"]).toMatchObject({ ID: 7, CODE: "demo_bot", NAME: "Demo Bot" });
  });

  it("needs the imbot scope", async () => {
    simulator = await startSimulator();
    simulator.addWebhook({ userId: 1, code: "linesonly", scopes: ["imopenlines"] });
    const response = await fetch(
      `${simulator.webhookUrl({ userId: 1, code: "linesonly" })}imbot.bot.list.json`,
      {
        method: "POST",
      },
    );
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe("insufficient_scope");
  });
});
