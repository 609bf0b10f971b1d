/**
 * One cold-start sample, run as `node dist/bench/harness/cold.mjs <bundle.mjs> <event json> [import-only]`
 * in a fresh process. It imports nothing itself (not even node:url), so whatever the bundle needs is
 * charged to the bundle. Times are `performance.now()`: milliseconds since this process started.
 */
const started = performance.now();
const [bundlePath = "", eventJson = "{}", mode = "full"] = process.argv.slice(2);

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: "b24-transfer-bench",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:b24-transfer-bench",
  memoryLimitInMB: "512",
  awsRequestId: "00000000-0000-4000-8000-000000000001",
  logGroupName: "/aws/lambda/b24-transfer-bench",
  logStreamName: "bench",
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

const loaded = (await import(`file://${encodeURI(bundlePath)}`)) as { handler: Handler };
const imported = performance.now();
let transferred = imported;
let result: unknown;
let error: string | undefined;
if (mode !== "import-only") {
  try {
    result = await loaded.handler(JSON.parse(eventJson), context);
  } catch (failure) {
    error = failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure);
  }
  transferred = performance.now();
}

const line = JSON.stringify({ started, imported, transferred, result, error });
process.stdout.write(`\n@@bench ${line}\n`, () => process.exit(error ? 1 : 0));
