/**
 * `npm run load`: the local API (the real bundle) plus the simulator with its rate limit, hit by 2,000
 * requests at concurrency 50 on loopback. Every request must end as 200 with exactly one ledger entry,
 * or as a clear 503/429 problem with none: zero lost, zero duplicated. Bounded in count and time; it
 * stops by itself and exits non-zero on any violation. Latency and heap are printed, not asserted.
 *
 * The portal's limit is Bitrix24's (burst 50, drain 2/s) on a clock running SCALE times faster, so the
 * run takes seconds instead of the ~17 minutes 2,000 transfers need at 2 per second. The limit is one
 * bucket per portal and source IP (limits.md), so the requests alternate between two webhooks of the
 * same portal ("main" and "second"): they share one bucket, and the ledger can never hold more than
 * one portal's worth of transfers per second, whatever the number of webhooks.
 */
import { pathToFileURL } from "node:url";
import { bundleLambda, PROJECT_ROOT } from "../infra/bundling.ts";
import { type LambdaHandler, startLocalApi } from "./local-api.ts";
import { startLocalAws } from "./local-aws.ts";
import { DEMO_BOT, demoPortal, startSimulator } from "./simulator/index.ts";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(`usage: npm run load

Hits the local API (the real bundle) and the rate-limited simulator with LOAD_REQUESTS (2000)
requests at LOAD_CONCURRENCY (50), on a clock LOAD_CLOCK_SCALE (10) times faster; exits 1 if any
transfer is lost or duplicated.`);
  process.exit(0);
}

const TOTAL = Number(process.env.LOAD_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.LOAD_CONCURRENCY ?? 50);
const SCALE = Number(process.env.LOAD_CLOCK_SCALE ?? 10);
const TIME_LIMIT_MS = 120_000;

const gc = (globalThis as { gc?: () => void }).gc;
const heapMb = () => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

const outdir = process.env.SKIP_BUILD === "true" ? "dist/lambda" : await bundleLambda("transfer");
const epoch = Date.now();
const seed = demoPortal();
const chats = Array.from({ length: TOTAL }, (_, i) => ({ id: 10_000 + i, lineId: 3, botIds: [7] }));
const sim = await startSimulator({
  portal: { ...seed, chats: [...seed.chats, ...chats] },
  now: () => epoch + (Date.now() - epoch) * SCALE,
});
const aws = await startLocalAws();
const SECOND_WEBHOOK = { userId: 1, code: "l0ad0second0webhook" };
sim.addWebhook({ ...SECOND_WEBHOOK, scopes: ["imopenlines", "imbot", "im"] });
aws.put("b24/main", JSON.stringify({ webhookUrl: sim.webhookUrl(), clientId: DEMO_BOT.clientId }));
aws.put(
  "b24/second",
  JSON.stringify({ webhookUrl: sim.webhookUrl(SECOND_WEBHOOK), clientId: DEMO_BOT.clientId }),
);
Object.assign(process.env, aws.env(), {
  PORTALS: JSON.stringify({ main: "b24/main", second: "b24/second" }),
  DEFAULT_PORTAL: "main",
  ALLOW_HTTP_LOOPBACK: "true",
  POWERTOOLS_LOG_LEVEL: "SILENT",
  POWERTOOLS_METRICS_DISABLED: "true",
});
const { handler } = (await import(pathToFileURL(`${PROJECT_ROOT}/${outdir}/index.mjs`).href)) as {
  handler: LambdaHandler;
};
const api = await startLocalApi(handler);

const outcomes = new Map<number, { status: number; code?: string; ms: number }>();
const heap = [heapMb()];
const started = Date.now();
let next = 0;
async function worker(): Promise<void> {
  while (next < TOTAL && Date.now() - started < TIME_LIMIT_MS) {
    const chatId = 10_000 + next++;
    const t0 = performance.now();
    const response = await fetch(`${api.url}/transfers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ chatId, operatorId: 12, portal: chatId % 2 === 0 ? "main" : "second" }),
    });
    const body = (await response.json()) as { code?: string };
    outcomes.set(chatId, {
      status: response.status,
      ...(body.code ? { code: body.code } : {}),
      ms: performance.now() - t0,
    });
    if (next === Math.floor(TOTAL / 2)) heap.push(heapMb());
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
const elapsed = (Date.now() - started) / 1000;
heap.push(heapMb());

const problems: string[] = [];
if (outcomes.size !== TOTAL)
  problems.push(`only ${outcomes.size} of ${TOTAL} requests finished within ${TIME_LIMIT_MS / 1000} s`);
const ledger = sim.ledger.map((record) => record.chatId);
if (new Set(ledger).size !== ledger.length) problems.push("a chat was transferred twice");
// One bucket for both webhooks: burst 50 plus 2 per second of the portal's (scaled) clock, with slack.
const simulatedSeconds = ((Date.now() - started) * SCALE) / 1000;
const ceiling = 50 + 2 * simulatedSeconds + 5;
if (ledger.length > ceiling)
  problems.push(
    `${ledger.length} transfers exceed one shared bucket's ${ceiling.toFixed(0)}: buckets per webhook?`,
  );
const transferred = new Set(ledger);
const counts = new Map<string, number>();
for (const [chatId, outcome] of outcomes) {
  const label = outcome.code ? `${outcome.status} ${outcome.code}` : String(outcome.status);
  counts.set(label, (counts.get(label) ?? 0) + 1);
  if (outcome.status === 200 && !transferred.has(chatId))
    problems.push(`chat ${chatId}: 200 without a ledger entry`);
  if (outcome.status !== 200 && transferred.has(chatId))
    problems.push(`chat ${chatId}: transferred but answered ${outcome.status}`);
  if (outcome.status !== 200 && !(outcome.status === 503 || outcome.status === 429))
    problems.push(`chat ${chatId}: unexpected ${outcome.status}`);
}

const latencies = [...outcomes.values()].map((o) => o.ms).sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]?.toFixed(1);
console.log(
  `load: ${outcomes.size} requests, concurrency ${CONCURRENCY}, ${elapsed.toFixed(1)} s (limit clock ×${SCALE})`,
);
console.log(`load: outcomes ${JSON.stringify(Object.fromEntries(counts))}`);
console.log(
  `load: latency p50 ${pct(50)} ms, p99 ${pct(99)} ms; ledger ${ledger.length} transfers, ${new Set(ledger).size} distinct`,
);
console.log(
  `load: heap after GC ${heap.map((mb) => mb.toFixed(1)).join(" → ")} MB${gc ? "" : " (run with --expose-gc for exact figures)"}`,
);

await api.close();
await sim.close();
await aws.close();
if (problems.length > 0) {
  console.error(`load: FAILED\n${problems.slice(0, 20).join("\n")}`);
  console.log("load: 0 passed, 1 failed");
  process.exit(1);
}
console.log("load: 1 passed, 0 failed");
