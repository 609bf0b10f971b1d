import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { PORTAL_SECRET_PLACEHOLDER } from "../infra/portal-secrets-construct.ts";
import { lambdaContext } from "../scripts/local-api.ts";
import { httpApiEvent } from "./support/events.ts";
import { MAIN_SECRET, useBundleHarness } from "./support/harness.ts";

/**
 * Issue 14, finding 4, through the deployable bundle and the real SDK client: a broken secret or a
 * throttled Secrets Manager costs a bounded number of reads per container, not one (times the SDK's
 * retries) per request.
 */
const h = useBundleHarness();
const REQUESTS = 20;
/** One read, with the SDK's own retries (standard mode: 3 attempts) for a throttled one. */
const SDK_ATTEMPTS = 3;

async function burst(portal?: string): Promise<string[]> {
  const handler = h.newHandler();
  const codes: string[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const body = JSON.stringify({ chatId: 112, operatorId: 12, ...(portal ? { portal } : {}) });
    const result = (await handler(
      httpApiEvent({ body }),
      lambdaContext(28_000),
    )) as APIGatewayProxyStructuredResultV2;
    codes.push(JSON.parse(result.body ?? "{}").code);
  }
  return codes;
}

describe("a failed secret read is remembered briefly", () => {
  it.each([
    ["the created secret's placeholder", () => h.secrets.put(MAIN_SECRET, PORTAL_SECRET_PLACEHOLDER)],
    ["a secret that is not JSON", () => h.secrets.put(MAIN_SECRET, "https://example.com/rest/1/x/")],
  ])("reads %s once for a burst of requests", async (_name, arrange) => {
    arrange();
    const codes = await burst();
    expect(new Set(codes)).toEqual(new Set(["PORTAL_MISCONFIGURED"]));
    expect(h.secrets.calls.get(MAIN_SECRET)).toBe(1);
  });

  it("reads a missing secret once for a burst of requests", async () => {
    const codes = await burst("other");
    expect(new Set(codes)).toEqual(new Set(["PORTAL_MISCONFIGURED"]));
    expect(h.secrets.calls.get("b24-transfer/other")).toBe(1);
  });

  it("reads a throttled secret once (with the SDK's retries) for a burst of requests", async () => {
    h.secrets.failNext("ThrottlingException", 1000, 400);
    const codes = await burst();
    expect(new Set(codes)).toEqual(new Set(["CREDENTIALS_UNAVAILABLE"]));
    expect(h.secrets.calls.get(MAIN_SECRET)).toBeLessThanOrEqual(SDK_ATTEMPTS);
  });
});
