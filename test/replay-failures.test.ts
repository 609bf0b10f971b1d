import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { signBody } from "../lambda/aws/failure-signature.ts";
import { lambdaContext } from "../scripts/local-api.ts";
import { startDynamo } from "../scripts/local-dynamodb.ts";
import { awsClients, parseOptions } from "../scripts/replay-failures.ts";
import { transferRequestedEvent } from "./support/eventbridge.ts";
import { SIGNING_KEY, SIGNING_SECRET, useBundleHarness } from "./support/harness.ts";

/**
 * The operator's path end to end: events park failed items through the real bundle, and
 * `npm run replay-failures` (a real process with the real SQS and Lambda clients) replays them
 * through loopback SQS and Lambda endpoints that run the same bundle.
 */
const FUNCTION = "b24-transfer-Transfer";
// Each test starts several tsx processes one after another: seconds each on a shared machine, so 20 s
// (the suite's default) ran out in CI with other work on its 2 cores, and the next test then saw the
// unfinished one's queue.
vi.setConfig({ testTimeout: 90_000 });
let dynamo: { url: string; close: () => Promise<void> };
beforeAll(async () => {
  dynamo = await startDynamo("replay-idempotency");
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.url;
  process.env.IDEMPOTENCY_TABLE = "replay-idempotency";
});
afterAll(() => dynamo?.close());
const h = useBundleHarness();

function replay(...args: string[]): Promise<{ code: number; out: string }> {
  return replayProcess(args).done;
}

function replayProcess(args: string[]) {
  let child: ReturnType<typeof execFile> | undefined;
  const done = new Promise<{ code: number; out: string }>((resolve) => {
    child = execFile(
      process.execPath,
      ["--import", "tsx", "scripts/replay-failures.ts", ...args],
      { env: { ...process.env, ...h.secrets.env() } },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? error.signal) || 1 : 0, out: stdout + stderr }),
    );
  });
  return { child: child as ReturnType<typeof execFile>, done };
}

const parked = () => h.secrets.queued(h.secrets.queueUrl).map((m) => JSON.parse(m.body));
const transferredChats = () => h.sim.ledger.map((record) => record.chatId);

describe("npm run replay-failures", () => {
  it("--help explains itself and exits 0; a missing queue is a usage error", async () => {
    const help = await replay("--help");
    expect(help.code).toBe(0);
    expect(help.out).toContain("--include-unknown");
    const bad = await replay("--function", FUNCTION);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain("give --queue-url, --function and --signing-secret");
  });

  it("takes the region from the queue URL (and the function's ARN) when they name one", async () => {
    const regionsOf = async (queueUrl: string, functionName: string) => {
      const { sqs, lambda, secrets } = awsClients({ queueUrl, functionName });
      const regions = [await sqs.config.region(), await lambda.config.region()];
      for (const client of [sqs, lambda, secrets]) client.destroy();
      return regions;
    };
    const queue = "https://sqs.eu-west-3.amazonaws.com/123456789012/B24Transfer-Failed";
    expect(await regionsOf(queue, FUNCTION)).toEqual(["eu-west-3", "eu-west-3"]);
    expect(
      await regionsOf(queue, "arn:aws:lambda:eu-north-1:123456789012:function:B24Transfer-Transfer:live"),
    ).toEqual(["eu-west-3", "eu-north-1"]);
    // A URL that names none (here loopback) leaves the SDK's chain in charge: AWS_REGION in this test.
    expect(await regionsOf(h.secrets.queueUrl, FUNCTION)).toEqual(["us-east-1", "us-east-1"]);
  });

  it("without any region, says how to give one instead of the SDK's bare 'Region is missing'", async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("AWS_")));
    const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          "--import",
          "tsx",
          "scripts/replay-failures.ts",
          "--queue-url",
          h.secrets.queueUrl,
          "--function",
          FUNCTION,
          "--signing-secret",
          SIGNING_SECRET,
        ],
        { env: { ...env, AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null" } },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code) || 1 : 0, out: stdout + stderr }),
      );
    });
    expect(code).toBe(2);
    expect(out).toContain("replay-failures: no AWS region: set AWS_REGION to the stack's region");
    expect(out).not.toContain("Region is missing");
  });

  it("--outputs takes the live alias when the stack has one, the function name otherwise", () => {
    const dir = mkdtempSync(join(tmpdir(), "replay-outputs-"));
    const file = (name: string, outputs: Record<string, string>) => {
      const path = join(dir, name);
      writeFileSync(path, JSON.stringify({ B24Transfer: outputs }));
      return path;
    };
    const queue = {
      FailedInvocationsQueueUrl: "https://sqs.eu-west-3.amazonaws.com/1/q",
      FailureSigningSecretArn: "arn:aws:secretsmanager:eu-west-3:1:secret:signing",
    };
    const alias = "arn:aws:lambda:eu-west-3:1:function:fn:live";
    const withAlias = parseOptions([
      "--outputs",
      file("new.json", { ...queue, TransferFunctionName: "fn", TransferFunctionAlias: alias }),
    ]);
    expect(withAlias).toMatchObject({ functionName: alias, queueUrl: queue.FailedInvocationsQueueUrl });
    const older = parseOptions(["--outputs", file("old.json", { ...queue, TransferFunctionName: "fn" })]);
    expect(older).toMatchObject({ functionName: "fn" });
  });

  it("deletes what succeeded, keeps what fails, skips unknown outcomes unless asked, never transfers twice", async () => {
    h.secrets.addFunction(FUNCTION, h.newHandler());
    const handler = h.newHandler();
    const context = () => lambdaContext(28_000);

    // A: rate-limited now, fine later. B: a chat that does not exist, failing every time.
    h.sim.injectFault({ kind: "error", status: 429, error: "OPERATION_TIME_LIMIT" });
    await handler(transferRequestedEvent({ chatId: "112", operatorId: 12 }, "event-a"), context());
    await handler(transferRequestedEvent({ chatId: 99999, operatorId: 12 }, "event-b"), context());
    // D: the second item of a batch, rate-limited.
    h.sim.injectFault({ kind: "error", status: 429, error: "OPERATION_TIME_LIMIT" });
    await handler(
      transferRequestedEvent({ transfers: [{ chatId: 114, queueId: 3, leave: true }] }, "event-d"),
      context(),
    );
    h.sim.clearFaults();
    expect(transferredChats()).toEqual([]);

    // Parked exactly as the caller sent it, with the reason: a replay needs no translation.
    expect(parked()).toMatchObject([
      { request: { chatId: "112", operatorId: 12 }, code: "RATE_LIMITED", outcomeUnknown: false },
      { request: { chatId: 99999, operatorId: 12 }, code: "CHAT_NOT_READABLE", outcomeUnknown: false },
      { request: { chatId: 114, queueId: 3, leave: true }, index: 0, outcomeUnknown: false },
    ]);
    expect(parked()[0].origin).toMatchObject({ type: "eventbridge", eventId: "event-a" });
    expect(parked()[0].request).toEqual({ chatId: "112", operatorId: 12 });

    // C: a transfer whose outcome was unknown (issue 11's OUTCOME_UNKNOWN), parked as the function parks it.
    const sqs = new SQSClient({
      endpoint: h.secrets.url,
      region: "us-east-1",
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
    });
    const body = JSON.stringify({
      code: "OUTCOME_UNKNOWN",
      outcomeUnknown: true,
      problem: { code: "OUTCOME_UNKNOWN", status: 502 },
      request: { chatId: 113, queueId: 3 },
      origin: { type: "schedule", name: "night-shift" },
      requestId: "r-c",
      failedAt: "2026-11-28T22:00:00.000Z",
    });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: h.secrets.queueUrl,
        MessageBody: body,
        MessageAttributes: { signature: { DataType: "String", StringValue: signBody(body, SIGNING_KEY) } },
      }),
    );
    sqs.destroy();
    const args = [
      "--queue-url",
      h.secrets.queueUrl,
      "--function",
      FUNCTION,
      "--signing-secret",
      SIGNING_SECRET,
      "--visibility-timeout",
      "60",
    ];

    const dry = await replay(...args, "--dry-run");
    expect(dry.code, dry.out).toBe(0);
    expect(dry.out).toContain("Summary: 4 message(s), 3 would be replayed, 1 with unknown outcome skipped");
    expect(h.secrets.invocations.get(FUNCTION)).toBeUndefined();
    expect(h.secrets.queued(h.secrets.queueUrl)).toHaveLength(4);

    // The run is cut short: the first successful message cannot be deleted.
    h.secrets.failNext("AccessDenied", 1, 400, "AmazonSQS.DeleteMessage");
    const first = await replay(...args);
    expect(first.code).toBe(1);
    expect(first.out).toContain(
      "Summary: 4 message(s), 2 replayed, 1 deleted, 1 failed and kept, 1 replayed but not deleted, 1 with unknown outcome skipped",
    );
    expect(first.out).toContain("CHAT_NOT_READABLE");
    expect(transferredChats().sort()).toEqual([112, 114]);
    expect(parked().map((m) => m.request.chatId)).toEqual(["112", 99999, 113]);

    // The rerun answers the undeleted one from the idempotency record: chat 112 is not transferred again.
    const second = await replay(...args);
    expect(second.code).toBe(1);
    expect(second.out).toContain("Summary: 3 message(s), 1 replayed, 1 deleted, 1 failed and kept");
    expect(transferredChats().sort()).toEqual([112, 114]);
    expect(parked().map((m) => m.request.chatId)).toEqual([99999, 113]);

    // Only when asked does the unknown-outcome item go out.
    const third = await replay(...args, "--include-unknown", "--max", "5");
    expect(third.out).toContain("Summary: 2 message(s), 1 replayed, 1 deleted, 1 failed and kept");
    expect(transferredChats().sort()).toEqual([112, 113, 114]);
    expect(parked().map((m) => m.request.chatId)).toEqual([99999]);
    expect(h.secrets.queued(h.secrets.queueUrl)[0]?.receiveCount).toBe(4);
  });

  it("a replay killed after the transfer but before the delete transfers nothing again when rerun", async () => {
    const handler = h.newHandler();
    h.sim.injectFault({ kind: "error", status: 429, error: "OPERATION_TIME_LIMIT" });
    await handler(transferRequestedEvent({ chatId: 115, queueId: 4 }, "event-e"), lambdaContext(28_000));
    expect(parked()).toMatchObject([{ request: { chatId: 115, queueId: 4 } }]);

    // The function transfers, then the replay process dies before it can delete the message.
    let kill = () => {};
    h.secrets.addFunction("killer", async (event, context) => {
      const answer = await handler(event, context);
      kill();
      return answer;
    });
    const killed = replayProcess([
      "--signing-secret",
      SIGNING_SECRET,
      "--queue-url",
      h.secrets.queueUrl,
      "--function",
      "killer",
      "--visibility-timeout",
      "1",
    ]);
    kill = () => killed.child.kill("SIGKILL");
    const first = await killed.done;
    expect(first.code).not.toBe(0);
    expect(first.out).not.toContain("Summary");
    expect(transferredChats()).toEqual([115]);
    expect(h.secrets.queued(h.secrets.queueUrl)).toHaveLength(1);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    h.secrets.addFunction("killer", handler);
    const rerun = await replay(
      "--queue-url",
      h.secrets.queueUrl,
      "--function",
      "killer",
      "--signing-secret",
      SIGNING_SECRET,
    );
    expect(rerun.code, rerun.out).toBe(0);
    expect(rerun.out).toContain("Summary: 1 message(s), 1 replayed, 1 deleted, 0 failed and kept");
    expect(transferredChats()).toEqual([115]);
    expect(h.secrets.queued(h.secrets.queueUrl)).toHaveLength(0);
  });
});
