/**
 * Warm per-call cost, run as a child with an IPC channel: a handler bundle invoked directly (as Lambda
 * does) back to back with a bare `fetch` of the same Bitrix24 method (the floor: the least any code must
 * do to transfer a chat). Each iteration runs both, alternating which goes first, on the same chat.
 *
 * env: BUNDLE (path of the bundle), WEBHOOK_URL (REST base for the bare fetch), ITERATIONS, WARMUP,
 * CHAT_FIRST, CHAT_COUNT, IDLE_MS. Messages: → {type:"ready"}, ← {type:"go"}, → {type:"done", floor, handler}.
 */
type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const env = process.env;
const iterations = Number(env.ITERATIONS ?? 5000);
const warmup = Number(env.WARMUP ?? 300);
const chatFirst = Number(env.CHAT_FIRST ?? 112);
const chatCount = Number(env.CHAT_COUNT ?? 1);
const transferUrl = `${env.WEBHOOK_URL}imopenlines.bot.session.transfer.json`;

const context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: "b24-transfer-bench",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:b24-transfer-bench",
  memoryLimitInMB: "512",
  awsRequestId: "00000000-0000-4000-8000-000000000002",
  logGroupName: "/aws/lambda/b24-transfer-bench",
  logStreamName: "bench",
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

const { handler } = (await import(`file://${encodeURI(env.BUNDLE ?? "")}`)) as { handler: Handler };

/**
 * IDLE_MS: the handler finds the wall clock this much later at each invocation, as a sandbox thawed
 * after that long idle does, so its kept-alive connection is past its idle bound and replaced (a new
 * TLS handshake). The clock moves, not the process: no real waiting, and the bare fetch's pool
 * (undici, timer-based) keeps its connection.
 */
const idleMs = Number(env.IDLE_MS ?? 0);
let clockOffset = 0;
if (idleMs > 0) {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + clockOffset;
}

async function bareFetch(chatId: number, operatorId: number): Promise<void> {
  const response = await fetch(transferUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ CHAT_ID: chatId, USER_ID: operatorId, LEAVE: "N", CLIENT_ID: env.CLIENT_ID }),
  });
  const answer = (await response.json()) as { result?: unknown };
  if (answer.result !== true) throw new Error(`bare fetch: transfer not confirmed (HTTP ${response.status})`);
}

/**
 * `"guard": false`: each iteration moves the same chats between operators 12 and 14, which the guard
 * would refuse (a person holds them), and the read is a Bitrix24 call, not per-call overhead. The
 * guard's cost is measured where it belongs: first-transfer latency (cold) and throughput.
 */
async function viaHandler(chatId: number, operatorId: number): Promise<void> {
  clockOffset += idleMs;
  const result = (await handler({ chatId, operatorId, guard: false }, context)) as
    | { transferred?: unknown }
    | undefined;
  if (result?.transferred !== true) throw new Error("handler: transfer not confirmed");
}

async function run(
  count: number,
  floor: number[] | undefined,
  measured: number[] | undefined,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const chatId = chatFirst + (i % chatCount);
    const operatorId = i % 2 === 0 ? 12 : 14;
    // Alternate the order so neither side always runs on a connection the other just warmed.
    const order = i % 2 === 0 ? [bareFetch, viaHandler] : [viaHandler, bareFetch];
    for (const step of order) {
      const started = performance.now();
      await step(chatId, operatorId);
      const elapsed = performance.now() - started;
      if (step === bareFetch) floor?.push(elapsed);
      else measured?.push(elapsed);
    }
  }
}

const send = (message: unknown) =>
  new Promise<void>((resolve, reject) =>
    process.send?.(message, (error: Error | null) => (error ? reject(error) : resolve())),
  );

await run(warmup, undefined, undefined);
const go = new Promise<void>((resolve) => process.once("message", () => resolve()));
await send({ type: "ready" });
await go;
const floor: number[] = [];
const measured: number[] = [];
await run(iterations, floor, measured);
await send({ type: "done", floor, handler: measured });
process.exit(0);
