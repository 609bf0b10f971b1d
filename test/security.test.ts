import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { httpApiEvent, iamHttpApiEvent } from "./support/events.ts";
import { useBundleHarness } from "./support/harness.ts";

/** Controls from docs/security.md that are about what a caller can steer. */
const h = useBundleHarness({ POWERTOOLS_LOG_LEVEL: "INFO" });
let lines: string[] = [];
beforeEach(() => {
  lines = [];
  const capture = (chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  };
  // Powertools writes WARN and ERROR through console.warn/error, that is to stderr.
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
});
afterEach(() => vi.restoreAllMocks());

async function post(body: unknown, headers: Record<string, string> = {}, client?: string) {
  const event = httpApiEvent({
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers },
    ...(client ? { client } : {}),
  });
  const result = (await h.newHandler()(event, lambdaContext(28_000))) as APIGatewayProxyStructuredResultV2;
  return { status: result.statusCode, body: JSON.parse(result.body ?? "null") };
}

describe("a caller cannot steer where the function calls", () => {
  it.each([["webhookUrl"], ["host"], ["domain"], ["restBase"], ["url"]])(
    "refuses a %s field in the request",
    async (field) => {
      const response = await post({ chatId: 112, operatorId: 12, [field]: "https://evil.example/rest/1/x/" });
      expect([response.status, response.body.code]).toEqual([400, "VALIDATION_FAILED"]);
      expect(h.sim.hits).toHaveLength(0);
    },
  );

  it("ignores Host and forwarding headers: the portal host comes only from the secret", async () => {
    const response = await post(
      { chatId: 112, operatorId: 12 },
      {
        host: "evil.example",
        "x-forwarded-host": "evil.example",
        "x-forwarded-proto": "http",
        forwarded: "host=evil.example",
      },
    );
    expect(response.status).toBe(200);
    expect(h.sim.ledger).toHaveLength(1);
  });

  it("takes the caller's identity from the authorizer only, whatever the headers claim", async () => {
    await post(
      { chatId: 113, operatorId: 12 },
      { "x-client": "admin", client: "admin", "x-amzn-oidc-identity": "admin" },
      "crm",
    );
    const log = JSON.parse(lines.find((line) => line.includes('"message":"transfer"')) ?? "{}");
    expect(log.client).toBe("crm");
  });

  it("logs an IAM caller's principal as the client", async () => {
    const event = iamHttpApiEvent("arn:aws:iam::111122223333:role/crm", {
      body: JSON.stringify({ chatId: 113, operatorId: 12 }),
      headers: { "content-type": "application/json", "x-client": "admin" },
    });
    await h.newHandler()(event, lambdaContext(28_000));
    const log = JSON.parse(lines.find((line) => line.includes('"message":"transfer"')) ?? "{}");
    expect(log.client).toBe("iam:arn:aws:iam::111122223333:role/crm");
  });
});

// Issue 14, finding 5: a 16 KiB body of unknown keys gave a 78 KB answer and 36 KB of log.
describe("a refusal stays small whatever the request", () => {
  it.each([
    [
      "many short unknown keys",
      () => Object.fromEntries(Array.from({ length: 1600 }, (_, i) => [`k${i}`, 1])),
    ],
    ["one huge unknown key", () => ({ ["k".repeat(16_000)]: 1 })],
    [
      "a batch of items full of unknown keys",
      () => ({
        transfers: Array.from({ length: 50 }, () =>
          Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, 1])),
        ),
      }),
    ],
  ])("caps the listed errors and the logged detail: %s", async (_name, build) => {
    const payload = { chatId: 112, operatorId: 12, ...build() };
    const text = JSON.stringify(payload);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(16 * 1024);
    const event = httpApiEvent({ body: text, headers: { "content-type": "application/json" } });
    const result = (await h.newHandler()(event, lambdaContext(28_000))) as APIGatewayProxyStructuredResultV2;
    const answer = result.body ?? "";
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(answer).errors.length).toBeLessThanOrEqual(20);
    expect(Buffer.byteLength(answer)).toBeLessThan(8 * 1024);
    const logged = lines.join("");
    expect(logged).toContain("VALIDATION_FAILED");
    expect(Buffer.byteLength(logged)).toBeLessThan(4 * 1024);
    expect(h.sim.hits).toHaveLength(0);
  });
});
