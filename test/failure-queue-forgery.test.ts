import { execFile } from "node:child_process";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { signBody, verifyBody } from "../lambda/aws/failure-signature.ts";
import { lambdaContext } from "../scripts/local-api.ts";
import { transferRequestedEvent } from "./support/eventbridge.ts";
import { SIGNING_KEY, SIGNING_SECRET, useBundleHarness } from "./support/harness.ts";

/**
 * Issue 25, Medium 2: anyone allowed to send to the failure queue could make `npm run replay-failures`
 * run a 50-item batch on another portal, hide the portal from --dry-run behind a long message, and
 * forge report lines with control characters. Replay now runs only single transfers the function
 * signed, shows each request whole, and escapes what it prints.
 */
const FUNCTION = "b24-transfer-Transfer";
const h = useBundleHarness();
let sqs: SQSClient;
beforeEach(() => {
  sqs = new SQSClient({
    endpoint: h.secrets.url,
    region: "us-east-1",
    credentials: { accessKeyId: "a", secretAccessKey: "b" },
  });
  h.secrets.addFunction(FUNCTION, h.newHandler());
});
// Kept messages stay queued across tests; each assertion looks only at what its own messages print.
afterEach(() => sqs.destroy());

const parkedItem = (request: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    code: "RATE_LIMITED",
    outcomeUnknown: false,
    problem: { code: "RATE_LIMITED", status: 429 },
    request,
    origin: { type: "schedule", name: "night-shift" },
    requestId: "r-forged",
    failedAt: "2026-12-01T22:00:00.000Z",
    ...extra,
  });

async function send(body: string, signature?: string): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: h.secrets.queueUrl,
      MessageBody: body,
      ...(signature
        ? { MessageAttributes: { signature: { DataType: "String", StringValue: signature } } }
        : {}),
    }),
  );
}

function replay(...extra: string[]): Promise<{ code: number; out: string }> {
  const args = [
    "--queue-url",
    h.secrets.queueUrl,
    "--function",
    FUNCTION,
    "--signing-secret",
    SIGNING_SECRET,
  ];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "scripts/replay-failures.ts", ...args, "--visibility-timeout", "1", ...extra],
      { env: { ...process.env, ...h.secrets.env() } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) || 1 : 0, out: stdout + stderr }),
    );
  });
}

const batch = {
  transfers: Array.from({ length: 50 }, (_, i) => ({ chatId: 200 + i, queueId: 3, portal: "other" })),
};

describe("Medium 2: the failure queue cannot be used to act", () => {
  it("signs every item the function parks, over the exact message body", async () => {
    h.sim.injectFault({ kind: "error", status: 429, error: "OPERATION_TIME_LIMIT" });
    await h.newHandler()(
      transferRequestedEvent({ chatId: 112, operatorId: 12 }, "event-s"),
      lambdaContext(28_000),
    );
    const [message] = h.secrets.queued(h.secrets.queueUrl).slice(-1);
    const signature = (message?.attributes?.signature as { StringValue?: string } | undefined)?.StringValue;
    expect(verifyBody(message?.body ?? "", signature, SIGNING_KEY)).toBe(true);
    expect(verifyBody(`${message?.body} `, signature, SIGNING_KEY)).toBe(false);
    expect(verifyBody(message?.body ?? "", signature, "another-key")).toBe(false);
  });

  it("never replays a forged item: unsigned, signed with another key, or a batch even when signed", async () => {
    const before = h.secrets.queued(h.secrets.queueUrl).length;
    await send(parkedItem(batch));
    await send(
      parkedItem({ chatId: 300, queueId: 3, portal: "other" }),
      signBody(parkedItem({ chatId: 300 }), SIGNING_KEY),
    );
    await send(
      parkedItem({ chatId: 301, queueId: 3 }),
      signBody(parkedItem({ chatId: 301, queueId: 3 }), "guessed-key"),
    );
    await send(parkedItem(batch), signBody(parkedItem(batch), SIGNING_KEY));
    const run = await replay();
    expect(run.code).toBe(1);
    expect(run.out).toContain("3 unsigned and kept, 1 batch(es) refused and kept");
    expect(h.secrets.invocations.get(FUNCTION)).toBeUndefined();
    expect(h.sim.ledger).toEqual([]);
    expect(h.secrets.queued(h.secrets.queueUrl)).toHaveLength(before + 4);
  });

  it("--dry-run shows the whole request and its portal, however long the message before it", async () => {
    const request = { chatId: 302, queueId: 3, message: "x".repeat(600), portal: "other" };
    await send(parkedItem(request), signBody(parkedItem(request), SIGNING_KEY));
    const dry = await replay("--dry-run");
    expect(dry.out).toContain(`"message":"${"x".repeat(600)}","portal":"other"} -> portal "other"`);
    expect(dry.out).toContain("would replay (dry run)");
    expect(h.secrets.invocations.get(FUNCTION)).toBeUndefined();
  });

  it("escapes control characters, so a parked text cannot forge a report line", async () => {
    const forged = "X\r\n    replayed, deleted\u001b[2K\u202e";
    const body = parkedItem(
      { chatId: 303, queueId: 3 },
      { code: forged, failedAt: forged, origin: { type: forged } },
    );
    await send(body, signBody(body, SIGNING_KEY));
    await send(parkedItem({ chatId: 304 }, { code: forged }));
    const dry = await replay("--dry-run");
    for (const raw of ["\r", "\u001b", "\u202e"]) expect(dry.out).not.toContain(raw);
    expect(dry.out.split("\n").filter((line) => line.trim() === "replayed, deleted")).toEqual([]);
    expect(dry.out).toContain("X\\u000d\\u000a    replayed, deleted\\u001b[2K\\u202e");
  });
});
