import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { httpApiEvent } from "./support/events.ts";
import { useBundleHarness } from "./support/harness.ts";

/**
 * Issue 25, Low 4: inside `batch` Bitrix24 substitutes `$result[…]` (and `$time[…]`, `$error[…]`…) in
 * command parameters, so a customer message "Your ref: $result[t0]" was written as "Your ref: 1".
 * Such a message is refused in a batch with a 400 naming the item; alone it is written verbatim.
 */
const h = useBundleHarness();

async function post(body: unknown) {
  const result = (await h.newHandler()(
    httpApiEvent({ body: JSON.stringify(body) }),
    lambdaContext(28_000),
  )) as APIGatewayProxyStructuredResultV2;
  return { status: result.statusCode, body: JSON.parse(result.body ?? "null") };
}

describe("Low 4: batch references in a message", () => {
  const references = [
    "Your ref: $result[t0]",
    "at $time[m0][start]",
    "$RESULT[x]",
    "$error.x[0] left",
    "$resultX[t0]",
  ];

  it.each(references)("refuses %j in a batch before calling Bitrix24", async (text) => {
    const { status, body } = await post({
      transfers: [
        { chatId: 112, operatorId: 12 },
        { chatId: 113, operatorId: 12, message: text },
      ],
    });
    expect([status, body.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(body.errors).toEqual([
      { path: "transfers.1.message", message: expect.stringContaining("send this transfer on its own") },
    ]);
    expect(h.sim.hits).toEqual([]);
    expect(h.sim.ledger).toEqual([]);
  });

  it("writes the same message verbatim when the transfer is sent alone", async () => {
    const { status } = await post({ chatId: 113, operatorId: 12, message: "Your ref: $result[t0]" });
    expect(status).toBe(200);
    expect(h.sim.messages.map((m) => m.message)).toEqual(["Your ref: $result[t0]"]);
    expect(h.sim.ledger.map((r) => r.chatId)).toEqual([113]);
  });

  it("lets dollar signs and brackets that batch leaves alone through, and writes them as sent", async () => {
    const text = "Price $5 [net]; $result without brackets; $ result[1]";
    const { status } = await post({ transfers: [{ chatId: 112, operatorId: 12, message: text }] });
    expect(status).toBe(200);
    expect(h.sim.messages.map((m) => m.message)).toEqual([text]);
  });
});
