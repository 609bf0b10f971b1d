import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { httpApiEvent } from "./support/events.ts";
import { useBundleHarness } from "./support/harness.ts";

/** CloudWatch Embedded Metric Format documents the bundle writes, read back from stdout. */
const h = useBundleHarness({ POWERTOOLS_METRICS_DISABLED: "false" });
let emf: Record<string, unknown>[];
beforeEach(() => {
  emf = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    for (const line of String(chunk).trim().split("\n")) {
      const doc = JSON.parse(line);
      if ("_aws" in doc) emf.push(doc);
    }
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

const post = (body: unknown) =>
  h.newHandler()(httpApiEvent({ body: JSON.stringify(body) }), lambdaContext(28_000));

/** Sum of a metric over the documents whose dimensions match. */
function total(name: string, dimensions: Record<string, string> = {}): number {
  return emf
    .filter((doc) => name in doc && Object.entries(dimensions).every(([key, value]) => doc[key] === value))
    .reduce((sum, doc) => sum + (doc[name] as number), 0);
}

describe("metrics", () => {
  it("counts a transfer by portal, in the B24Transfer namespace", async () => {
    await post({ chatId: 112, operatorId: 12 });
    expect(total("TransfersSucceeded", { portal: "main", service: "b24-transfer" })).toBe(1);
    expect(total("TransfersFailed")).toBe(0);
    const aws = emf[0]?._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
    expect(aws.CloudWatchMetrics[0]?.Namespace).toBe("B24Transfer");
    expect(aws.CloudWatchMetrics[0]?.Dimensions[0]).toEqual(
      expect.arrayContaining(["service", "portal", "source"]),
    );
  });

  it("counts failures by code, and retries", async () => {
    h.sim.injectFault(
      { kind: "error", status: 503, error: "QUERY_LIMIT_EXCEEDED" },
      { method: "imopenlines.bot.session.transfer" },
    );
    await post({ chatId: 112, operatorId: 12 });
    await post({ chatId: 113, operatorId: 13 });
    await post({ chatId: 0 });
    // One after the rate limit, one after OPERATOR_WRONG (it may be the chat's queue lock).
    expect(total("Bitrix24Retries", { portal: "main" })).toBe(2);
    expect(total("TransfersFailed", { code: "TRANSFER_REJECTED", portal: "main" })).toBe(1);
    expect(total("TransfersFailed", { code: "VALIDATION_FAILED" })).toBe(1);
    expect(total("TransfersSucceeded")).toBe(1);
  });

  it("publishes failures by code also without the portal, for one alarm over every portal", async () => {
    await post({ chatId: 113, operatorId: 13 });
    const failure = emf.find((doc) => "TransfersFailed" in doc);
    const aws = failure?._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] };
    expect(aws.CloudWatchMetrics[0]?.Dimensions.map((set) => [...set].sort())).toEqual([
      ["code", "portal", "service"],
      ["code", "service"],
    ]);
    expect(failure).toMatchObject({ code: "TRANSFER_REJECTED", portal: "main", service: "b24-transfer" });
  });

  it("counts each item of a partly failed batch", async () => {
    await post({
      transfers: [
        { chatId: 112, operatorId: 12 },
        { chatId: 113, operatorId: 13 },
        { chatId: 114, queueId: 3 },
      ],
    });
    expect(total("TransfersSucceeded", { portal: "main" })).toBe(2);
    expect(total("TransfersFailed", { code: "TRANSFER_REJECTED", portal: "main" })).toBe(1);
  });

  it("publishes Bitrix24's operating time and QUERY_LIMIT_EXCEEDED hits per portal host and method", async () => {
    h.sim.injectFault(
      { kind: "error", status: 503, error: "QUERY_LIMIT_EXCEEDED" },
      { method: "imopenlines.bot.session.transfer" },
    );
    await post({ chatId: 112, operatorId: 12 });
    const method = { method: "imopenlines.bot.session.transfer", portalHost: new URL(h.sim.url).host };
    expect(total("Bitrix24QueryLimitHits", method)).toBe(1);
    // The simulator spends no operating time: the metric is there, at zero.
    expect(emf.some((doc) => doc.Bitrix24OperatingShare === 0 && doc.method === method.method)).toBe(true);
    // The alarm's series: no portal or method dimension.
    expect(total("Bitrix24QueryLimitHits", { service: "b24-transfer" })).toBe(2);
    expect(emf.filter((doc) => "Bitrix24QueryLimitHits" in doc && !("method" in doc))).toHaveLength(1);
    expect(JSON.stringify(emf)).not.toContain("/rest/");
  });

  it("counts a followed portal move per portal and once without it, for the PortalMoved alarm", async () => {
    await h.sim.movePortal();
    await post({ chatId: 112, operatorId: 12 });
    expect(total("PortalMoved", { portal: "main" })).toBe(1);
    expect(
      emf.filter((doc) => "PortalMoved" in doc && !("portal" in doc) && doc.service === "b24-transfer"),
    ).toHaveLength(1);
  });
});
