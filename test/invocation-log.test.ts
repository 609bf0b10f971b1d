import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { httpApiEvent } from "./support/events.ts";
import { useBundleHarness } from "./support/harness.ts";

/** The one log line per invocation, as the deployable bundle writes it to stdout. */
const h = useBundleHarness({ POWERTOOLS_LOG_LEVEL: "INFO" });
let lines: Record<string, unknown>[];
beforeEach(() => {
  lines = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    for (const line of String(chunk).trim().split("\n")) {
      const doc = JSON.parse(line);
      if (!("_aws" in doc)) lines.push(doc);
    }
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

const post = (body: unknown) =>
  h.newHandler()(httpApiEvent({ body: JSON.stringify(body) }), lambdaContext(28_000));
const invocationLine = () => lines.filter((line) => line.message === "transfer");

describe("the invocation log line", () => {
  it("names the target that took the chat: the fallback when the first refused", async () => {
    // Operator 13 is inactive in the simulator: Bitrix24 refuses it, queue 3 takes the chat.
    await post({ chatId: 113, operatorId: 13, fallback: { queueId: 3 } });
    expect(h.sim.ledger).toEqual([expect.objectContaining({ chatId: 113, to: { queueId: 3 } })]);
    expect(invocationLine()).toEqual([
      expect.objectContaining({ outcome: "TRANSFERRED", target: { queueId: 3 }, fallbacksUsed: 1 }),
    ]);
  });

  it("names the requested target when it took the chat", async () => {
    await post({ chatId: 112, operatorId: 12, fallback: { queueId: 3 } });
    expect(invocationLine()).toEqual([expect.objectContaining({ target: { operatorId: 12 } })]);
    expect(invocationLine()[0]).not.toHaveProperty("fallbacksUsed");
  });
});
