/**
 * Throughput under the simulated Bitrix24 limit, run as a child with an IPC channel.
 *
 * Time can run faster than real time for everything that waits on it: the simulator's clock (in the
 * parent, same formula) and, here, `Date.now` and `setTimeout`, which the handler uses for its deadline
 * and its backoff between retries. So at ×20 a 250 ms backoff is still 250 simulated ms against the leaky
 * bucket, as on a real portal. Only CPU and network time are not scaled (they count `scale` times in
 * simulated time), which can only make the measured throughput lower than the real one. Each run message
 * sets the clock: simulated = simBase + (real − realBase) × scale, the parent's formula.
 *
 * Callers are `workers` concurrent "containers", each its own createHandler() (own secret cache), sharing
 * one queue of transfers; a RATE_LIMITED failure is retried after the Retry-After the handler suggests.
 */
type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const env = process.env;
const realNow = () => performance.timeOrigin + performance.now();
const clock = { simBase: realNow(), realBase: realNow(), scale: 1 };
const simNow = () => clock.simBase + (realNow() - clock.realBase) * clock.scale;
const realSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
  realSetTimeout(callback, (Number(ms) || 0) / clock.scale, ...args)) as typeof setTimeout;
Date.now = () => Math.floor(simNow());

const sleep = (simMs: number) => new Promise<void>((resolve) => setTimeout(resolve, simMs));

const { createHandler } = (await import(`file://${encodeURI(env.BUNDLE ?? "")}`)) as {
  createHandler: () => Handler;
};

function context() {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "b24-transfer-bench",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:b24-transfer-bench",
    memoryLimitInMB: "512",
    awsRequestId: "00000000-0000-4000-8000-000000000003",
    logGroupName: "/aws/lambda/b24-transfer-bench",
    logStreamName: "bench",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

interface Failure {
  code: string;
  retryAfter: number | undefined;
}

function failureOf(error: unknown): Failure {
  const record = (error ?? {}) as { code?: unknown; name?: unknown; details?: { retryAfter?: unknown } };
  const code = typeof record.code === "string" ? record.code : String(record.name ?? "Error");
  const retryAfter = typeof record.details?.retryAfter === "number" ? record.details.retryAfter : undefined;
  return { code, retryAfter };
}

/** Codes worth another try later: the limit, or a transient upstream failure. */
const RETRYABLE = new Set(["RATE_LIMITED", "UPSTREAM_ERROR", "UPSTREAM_TIMEOUT"]);

interface Stats {
  invocations: number;
  rateLimited: number;
  confirmed: number;
  firstAt: number;
  lastAt: number;
}

/** Hard bound on invocations per transfer, so a broken handler cannot keep the run going. */
const MAX_TRIES = 200;

/** `"guard": false` in every request when the run measures hand-overs without the guard's read. */
const guardField = { value: {} as { guard?: false } };

async function singleWorker(handler: Handler, queue: number[], stats: Stats): Promise<void> {
  for (let chatId = queue.shift(); chatId !== undefined; chatId = queue.shift()) {
    for (let tries = 1; ; tries++) {
      if (tries > MAX_TRIES)
        throw new Error(`chat ${chatId}: not transferred after ${MAX_TRIES} invocations`);
      stats.invocations++;
      try {
        const result = (await handler({ chatId, operatorId: 12, ...guardField.value }, context())) as {
          transferred?: unknown;
        };
        if (result?.transferred !== true) throw new Error(`chat ${chatId}: no confirmation`);
        stats.confirmed++;
        stats.lastAt = Date.now();
        break;
      } catch (error) {
        const failure = failureOf(error);
        if (!RETRYABLE.has(failure.code)) throw error;
        if (failure.code === "RATE_LIMITED") stats.rateLimited++;
        await sleep((failure.retryAfter ?? 1) * 1000);
      }
    }
  }
}

type ItemResult = { chatId: number; ok: true } | { chatId: number; ok: false; failure: Failure };

/** The per-item outcomes of a handler batch answer: a list under a few plausible names, in request order. */
function readHandlerBatch(answer: unknown, chatIds: readonly number[]): ItemResult[] {
  const record = (answer ?? {}) as Record<string, unknown>;
  const list = [record.items, record.results, record.transfers, record.outcomes].find(Array.isArray) as
    | unknown[]
    | undefined;
  if (!list || list.length !== chatIds.length) {
    throw new Error(`unrecognised batch answer (keys: ${Object.keys(record).join(", ")})`);
  }
  return list.map((entry, index) => {
    const chatId = chatIds[index] as number;
    const item = (entry ?? {}) as Record<string, unknown>;
    const result = (item.result ?? {}) as Record<string, unknown>;
    if (item.transferred === true || item.ok === true || result.transferred === true || item.status === 200) {
      return { chatId, ok: true };
    }
    const problem = (item.error ?? item.problem ?? item) as Record<string, unknown>;
    const code = [problem.code, item.code, item.outcome].find((value) => typeof value === "string") as
      | string
      | undefined;
    const retryAfter = [
      problem.retryAfter,
      (problem.details as { retryAfter?: unknown } | undefined)?.retryAfter,
    ]
      .filter((value) => typeof value === "number")
      .at(0) as number | undefined;
    return { chatId, ok: false, failure: { code: code ?? "UNKNOWN", retryAfter } };
  });
}

/**
 * The fallback while the handler has no batch yet: Bitrix24's `batch` called directly, with the
 * handler's own retry policy (4 attempts, full-jitter backoff from 250 ms, then Retry-After 1 s).
 */
async function simulatorBatch(chatIds: readonly number[]): Promise<ItemResult[]> {
  const cmd: Record<string, string> = {};
  chatIds.forEach((chatId, index) => {
    cmd[`t${index}`] =
      `imopenlines.bot.session.transfer?CHAT_ID=${chatId}&USER_ID=12&LEAVE=N&CLIENT_ID=${env.CLIENT_ID ?? ""}`;
  });
  const body = JSON.stringify({ halt: 0, cmd });
  for (let attempt = 1; attempt <= 4; attempt++) {
    const response = await fetch(`${env.WEBHOOK_URL}batch.json`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const answer = (await response.json()) as {
      error?: string;
      result?: { result?: Record<string, unknown>; result_error?: Record<string, { error?: string }> };
    };
    if (answer.error === "QUERY_LIMIT_EXCEEDED") {
      if (attempt < 4) await sleep(Math.random() * Math.min(4000, 250 * 2 ** (attempt - 1)));
      continue;
    }
    if (!answer.result) throw new Error(`batch failed: ${answer.error ?? response.status}`);
    const results = answer.result.result ?? {};
    const errors = answer.result.result_error ?? {};
    return chatIds.map((chatId, index) =>
      results[`t${index}`] === true
        ? { chatId, ok: true }
        : {
            chatId,
            ok: false,
            failure: { code: errors[`t${index}`]?.error ?? "UPSTREAM_ERROR", retryAfter: 1 },
          },
    );
  }
  return chatIds.map((chatId) => ({ chatId, ok: false, failure: { code: "RATE_LIMITED", retryAfter: 1 } }));
}

async function batchWorker(
  handler: Handler,
  via: "handler" | "simulator",
  queue: number[][],
  stats: Stats,
): Promise<void> {
  for (let chunk = queue.shift(); chunk !== undefined; chunk = queue.shift()) {
    let pending = chunk;
    for (let tries = 1; pending.length > 0; tries++) {
      if (tries > MAX_TRIES) throw new Error(`batch not done after ${MAX_TRIES} invocations`);
      stats.invocations++;
      let items: ItemResult[];
      try {
        items =
          via === "handler"
            ? readHandlerBatch(
                await handler(
                  { transfers: pending.map((chatId) => ({ chatId, operatorId: 12, ...guardField.value })) },
                  context(),
                ),
                pending,
              )
            : await simulatorBatch(pending);
      } catch (error) {
        const failure = failureOf(error);
        if (!RETRYABLE.has(failure.code)) throw error;
        items = pending.map((chatId) => ({ chatId, ok: false, failure }));
      }
      const retry: number[] = [];
      let wait = 0;
      for (const item of items) {
        if (item.ok) {
          stats.confirmed++;
          continue;
        }
        if (!RETRYABLE.has(item.failure.code)) {
          throw new Error(`chat ${item.chatId}: ${item.failure.code}, which is not retryable`);
        }
        retry.push(item.chatId);
        wait = Math.max(wait, item.failure.retryAfter ?? 1);
      }
      if (items.some((item) => !item.ok && item.failure.code === "RATE_LIMITED")) stats.rateLimited++;
      if (retry.length < items.length) stats.lastAt = Date.now();
      pending = retry;
      if (pending.length > 0) await sleep(wait * 1000);
    }
  }
}

interface RunMessage {
  type: "run";
  mode: "single" | "batch";
  via: "handler" | "simulator";
  guard: boolean;
  chatFirst: number;
  count: number;
  workers: number;
  batchSize: number;
  clock: { simBase: number; realBase: number; scale: number };
  /** Fill the portal's bucket first (requests until one is refused), then start the clock. */
  saturate: boolean;
  burst: number;
}

/** `scope` requests (one hit each) until the portal refuses one: the bucket is full at that moment. */
async function saturate(burst: number): Promise<void> {
  for (let i = 0; i <= burst + 10; i++) {
    const response = await fetch(`${env.WEBHOOK_URL}scope.json`, { method: "POST" });
    const answer = (await response.json()) as { error?: string };
    if (answer.error === "QUERY_LIMIT_EXCEEDED") return;
  }
  throw new Error("the portal never refused a request: is its rate limit on?");
}

async function run(message: RunMessage) {
  Object.assign(clock, message.clock);
  guardField.value = message.guard ? {} : { guard: false };
  const chats = Array.from({ length: message.count }, (_, index) => message.chatFirst + index);
  const handlers = Array.from({ length: message.workers }, () => createHandler());
  if (message.saturate) await saturate(message.burst);
  const stats: Stats = { invocations: 0, rateLimited: 0, confirmed: 0, firstAt: Date.now(), lastAt: 0 };
  const startedReal = realNow();
  if (message.mode === "single") {
    await Promise.all(handlers.map((handler) => singleWorker(handler, chats, stats)));
  } else {
    const chunks: number[][] = [];
    for (let i = 0; i < chats.length; i += message.batchSize)
      chunks.push(chats.slice(i, i + message.batchSize));
    await Promise.all(handlers.map((handler) => batchWorker(handler, message.via, chunks, stats)));
  }
  return {
    type: "result",
    simulatedMs: stats.lastAt - stats.firstAt,
    realMs: realNow() - startedReal,
    invocations: stats.invocations,
    rateLimitedInvocations: stats.rateLimited,
    confirmed: stats.confirmed,
  };
}

/** Does the handler take `{"transfers": [...]}`? A one-item batch: VALIDATION_FAILED means not yet. */
async function probe(chatId: number) {
  try {
    const answer = await createHandler()({ transfers: [{ chatId, operatorId: 12 }] }, context());
    readHandlerBatch(answer, [chatId]);
    return { type: "probe", supported: true, detail: "" };
  } catch (error) {
    const failure = failureOf(error);
    return { type: "probe", supported: false, detail: error instanceof Error ? error.message : failure.code };
  }
}

const send = (message: unknown) =>
  new Promise<void>((resolve, reject) =>
    process.send?.(message, (error: Error | null) => (error ? reject(error) : resolve())),
  );

process.on("message", (message: RunMessage | { type: "probe"; chatId: number } | { type: "exit" }) => {
  const work =
    message.type === "run"
      ? run(message)
      : message.type === "probe"
        ? probe(message.chatId)
        : Promise.resolve(undefined);
  work.then(
    async (reply) => {
      if (reply) await send(reply);
      else process.exit(0);
    },
    async (error: unknown) => {
      await send({ type: "error", message: error instanceof Error ? error.message : String(error) });
      process.exit(1);
    },
  );
});
await send({ type: "ready" });
