import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import {
  type LocalSecretsExtension,
  startLocalSecretsExtension,
} from "../scripts/local-secrets-extension.ts";
import { httpApiEvent } from "./support/events.ts";
import { MAIN_SECRET, useBundleHarness } from "./support/harness.ts";

/**
 * Issue 25, Low 6: Bitrix24 refusing the credentials made every request re-read the secret (20
 * requests answered 401 INVALID_CREDENTIALS cost 21 GetSecretValue calls), and each forced re-read
 * went past the extension's cache to Secrets Manager. Forced re-reads are now one per secret per 5 s.
 */
const h = useBundleHarness();
const REQUESTS = 20;

async function burst(): Promise<string[]> {
  const handler = h.newHandler();
  const codes: string[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const result = (await handler(
      httpApiEvent({ body: JSON.stringify({ chatId: 112, operatorId: 12 }) }),
      lambdaContext(28_000),
    )) as APIGatewayProxyStructuredResultV2;
    codes.push(JSON.parse(result.body ?? "{}").code);
  }
  return codes;
}

describe("Low 6: credentials Bitrix24 refuses are re-read at most once per 5 s", () => {
  it("20 requests refused with INVALID_CREDENTIALS cost two reads: the first and one forced re-read", async () => {
    h.sim.injectFault({ kind: "error", status: 401, error: "INVALID_CREDENTIALS" }, { times: Infinity });
    const codes = await burst();
    expect(new Set(codes).size).toBe(1);
    expect(codes[0]).not.toBe("TRANSFERRED");
    expect(h.secrets.calls.get(MAIN_SECRET)).toBe(2);
  });

  describe("through the Parameters and Secrets extension", () => {
    let extension: LocalSecretsExtension;
    const saved: Record<string, string | undefined> = {};
    beforeAll(async () => {
      extension = await startLocalSecretsExtension({ upstream: h.secrets.url });
      for (const [key, value] of Object.entries(extension.env())) {
        saved[key] = process.env[key];
        process.env[key] = value;
      }
    });
    afterAll(async () => {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await extension.close();
    });

    it("the forced re-reads that must pass the extension's cache are limited the same way", async () => {
      h.sim.injectFault({ kind: "error", status: 401, error: "INVALID_CREDENTIALS" }, { times: Infinity });
      await burst();
      // One read through the extension (its own call to Secrets Manager), one forced past it.
      expect(extension.requests).toBe(1);
      expect(h.secrets.calls.get(MAIN_SECRET)).toBe(2);
    });
  });
});
