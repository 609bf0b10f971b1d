import { afterEach, describe, expect, it, vi } from "vitest";
import {
  noteBitrix24Answer,
  operatingBudgetSeconds,
  takeBitrix24Usage,
} from "../lambda/observability/bitrix24-usage.ts";
import { publishMetrics } from "../lambda/observability/metrics.ts";

const WEBHOOK = "https://acme.bitrix24.com/rest/1/s3cr3tc0de/imopenlines.bot.session.transfer.json";
const timeBlock = (operating: number, resetAt: number) => ({
  result: true,
  time: { operating, operating_reset_at: resetAt },
});

afterEach(() => {
  takeBitrix24Usage();
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe("Bitrix24 usage", () => {
  it("keeps the highest operating time per portal host and method, never the webhook code", () => {
    noteBitrix24Answer(WEBHOOK, timeBlock(100.5, 1_800_000_000));
    noteBitrix24Answer(WEBHOOK, timeBlock(336, 1_800_000_060));
    noteBitrix24Answer(WEBHOOK, timeBlock(200, 1_800_000_120));
    noteBitrix24Answer(WEBHOOK, { error: "QUERY_LIMIT_EXCEEDED", error_description: "Too many requests" });
    const usage = takeBitrix24Usage();
    expect(usage).toEqual([
      {
        portalHost: "acme.bitrix24.com",
        method: "imopenlines.bot.session.transfer",
        operatingSeconds: 336,
        operatingResetAt: 1_800_000_060,
        queryLimitHits: 1,
      },
    ]);
    expect(JSON.stringify(usage)).not.toContain("s3cr3tc0de");
    expect(takeBitrix24Usage()).toEqual([]);
  });

  it("publishes the share of LoadLimiter's 420 s budget, per method and once overall for the alarm", () => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    const lines: Record<string, unknown>[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      for (const line of String(chunk).trim().split("\n")) lines.push(JSON.parse(line));
      return true;
    });
    noteBitrix24Answer(WEBHOOK, timeBlock(336, 1_800_000_000));
    noteBitrix24Answer(WEBHOOK.replace("acme", "beta"), timeBlock(48, 1_800_000_000));
    publishMetrics({
      source: "http",
      portal: "main",
      coldStart: false,
      succeeded: 2,
      fallbacksUsed: 0,
      messagesNotSent: 0,
      failed: {},
      retries: 0,
      durationMs: 5,
      replayed: false,
    });
    const share = lines.filter((doc) => "Bitrix24OperatingShare" in doc);
    expect(
      share.map((doc) => [doc.portalHost, doc.Bitrix24OperatingShare, doc.Bitrix24OperatingTime]),
    ).toEqual([
      ["acme.bitrix24.com", 80, 336],
      ["beta.bitrix24.com", (100 * 48) / 420, 48],
      [undefined, 80, undefined],
    ]);
    expect(JSON.stringify(lines)).not.toContain("s3cr3tc0de");
  });

  it("takes the budget from BITRIX24_OPERATING_LIMIT_SECONDS when a tariff changes it, else 420 s", () => {
    expect(operatingBudgetSeconds({})).toBe(420);
    expect(operatingBudgetSeconds({ BITRIX24_OPERATING_LIMIT_SECONDS: "480" })).toBe(480);
    for (const bad of ["0", "-5", "x", ""]) {
      expect(operatingBudgetSeconds({ BITRIX24_OPERATING_LIMIT_SECONDS: bad })).toBe(420);
    }
  });
});
