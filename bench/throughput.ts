import type { ChildProcess } from "node:child_process";
import { DEMO_BOT, type Simulator } from "../scripts/simulator/index.ts";
import { runNode } from "./lib/children.ts";
import { round } from "./lib/stats.ts";
import { benchPortal, type World } from "./lib/world.ts";

/**
 * Throughput under the cloud plans' limit (leaky bucket: burst 50, drain 2/s). Four scenarios, 500
 * transfers each, through ours invoked directly by `workers` concurrent callers: single calls vs batches
 * of 50, each from a saturated bucket (steady state: a busy portal whose burst is already spent) and from
 * an idle one (the burst still available). Single calls need minutes of simulated time, so their clock
 * runs `scale`× faster, for the simulator and for the handler's own clock and timers alike (see
 * harness/throughput.ts); batches need seconds and run at `batchScale` (1: real time).
 */
export interface ThroughputOptions {
  transfers: number;
  /** How much faster than real time the clock runs for single calls (hundreds of simulated seconds). */
  scale: number;
  /** The same for batches, which take seconds: 1 means real time, with no scaling error at all. */
  batchScale: number;
  /** Runs of batch / saturated (median reported): 10 batches are few, so the end of a run is noisy. */
  batchRepeats: number;
  workers: number;
  batchSize: number;
  burst: number;
  drainPerSecond: number;
}

export interface ThroughputScenario {
  name: string;
  mode: "single" | "batch";
  /** The guard's read before each hand-over (the default); false: `"guard": false` requests. */
  guard: boolean;
  bucket: "saturated" | "idle";
  /** "handler": batches through ours; "simulator": the fallback, Bitrix24 batch called directly. */
  via: "handler" | "simulator";
  /** Simulated seconds per real second in this scenario. */
  timeScale: number;
  transfers: number;
  /** Runs of this scenario; the one with the median rate is reported. */
  runs: number;
  /** Transfers per second of every run, in order. */
  runRates: number[];
  simulatedSeconds: number;
  realSeconds: number;
  transfersPerSecond: number;
  /** What the limit allows at best for this scenario, transfers per simulated second; null: no limit reached. */
  ceilingPerSecond: number | null;
  invocations: number;
  rateLimitedInvocations: number;
  bitrix24Requests: number;
  refusedRequests: number;
  /** Simulated seconds from the start of the run at which every 10th transfer was recorded by the portal. */
  timeline: number[];
}

export interface ThroughputResult {
  options: ThroughputOptions;
  batchVia: "handler" | "simulator";
  batchProbe: string;
  scenarios: ThroughputScenario[];
  /** Batch ÷ single transfers per second, steady state (saturated bucket). */
  ratioSaturated: number;
  ratioIdle: number;
  /** Guarded ÷ unguarded transfers per second, steady state: what the guard's reads cost under the limit. */
  guardCost: { single: number; batch: number };
}

const CHAT_FIRST = 5000;
const SECRET_ID = "b24-transfer/bench-throughput";

export async function measureThroughput(
  world: World,
  harness: string,
  bundle: string,
  options: ThroughputOptions,
  progress: (text: string) => void,
): Promise<ThroughputResult> {
  // One clock for the simulator and the child: simulated = simBase + (real − realBase) × scale. Changing
  // the scale rebases it, so simulated time never jumps or runs backwards.
  const realNow = () => performance.timeOrigin + performance.now();
  const clock = { simBase: realNow(), realBase: realNow(), scale: 1 };
  const simulatedNow = () => clock.simBase + (realNow() - clock.realBase) * clock.scale;
  const setScale = (scale: number) => {
    Object.assign(clock, { simBase: simulatedNow(), realBase: realNow(), scale });
  };
  const simulator = await world.startLimitedSimulator({
    rateLimit: { burst: options.burst, drainPerSecond: options.drainPerSecond },
    now: simulatedNow,
    // One extra chat for the probe.
    portal: benchPortal(CHAT_FIRST, options.transfers + 1),
    secretId: SECRET_ID,
  });

  const replies: ((message: Record<string, unknown>) => void)[] = [];
  let child: ChildProcess | undefined;
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const ask = (message: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      replies.push((reply) =>
        reply.type === "error" ? reject(new Error(String(reply.message))) : resolve(reply),
      );
      child?.send(message);
    });

  const exited = runNode(harness, {
    args: [],
    env: world.childEnv({
      BUNDLE: bundle,
      PORTALS: JSON.stringify({ bench: SECRET_ID }),
      ALLOW_HTTP_LOOPBACK: "true",
      WEBHOOK_URL: simulator.webhookUrl(),
      CLIENT_ID: DEMO_BOT.clientId,
    }),
    ipc: true,
    timeoutMs: 600_000,
    onMessage(message, process) {
      child = process;
      const typed = message as Record<string, unknown>;
      if (typed.type === "ready") ready();
      else replies.shift()?.(typed);
    },
  });
  const failed = exited.then((run) => {
    throw new Error(`throughput child exited early (${run.code ?? run.signal}): ${run.stderr.slice(-2000)}`);
  });
  failed.catch(() => undefined);

  try {
    await Promise.race([isReady, failed]);
    const probe = await Promise.race([
      ask({ type: "probe", chatId: CHAT_FIRST + options.transfers }),
      failed,
    ]);
    const batchVia = probe.supported === true ? "handler" : "simulator";
    const batchProbe =
      batchVia === "handler"
        ? "handler batch"
        : `simulator batch, handler batch not yet available (${String(probe.detail).slice(0, 200)})`;

    const scenarios: ThroughputScenario[] = [];
    // The guard's cost side by side: the steady state again with `"guard": false` requests.
    const plan = [
      ...(["saturated", "idle"] as const).flatMap((bucket) =>
        (["single", "batch"] as const).map((mode) => ({ bucket, mode, guard: true })),
      ),
      { bucket: "saturated" as const, mode: "single" as const, guard: false },
      { bucket: "saturated" as const, mode: "batch" as const, guard: false },
    ];
    for (const { bucket, mode, guard } of plan) {
      {
        const via = mode === "batch" ? batchVia : "handler";
        progress(
          `throughput: ${mode} calls, ${bucket} bucket${guard ? "" : ", no guard"}${via === "simulator" ? " (simulator batch)" : ""}`,
        );
        const scale = mode === "single" ? options.scale : options.batchScale;
        // 500 transfers are only 10 batches: when the last one gets its turn varies by up to a second,
        // so batch runs are repeated and the median run is reported (all rates are kept).
        const repeats = mode === "batch" && bucket === "saturated" ? options.batchRepeats : 1;
        const runs: ThroughputScenario[] = [];
        for (let repeat = 0; repeat < repeats; repeat++) {
          setScale(scale);
          simulator.reset();
          const hitsBefore = simulator.hits.length;
          const reply = await Promise.race([
            ask({
              type: "run",
              mode,
              via,
              guard,
              chatFirst: CHAT_FIRST,
              count: options.transfers,
              workers: options.workers,
              batchSize: options.batchSize,
              saturate: bucket === "saturated",
              burst: options.burst,
              clock,
            }),
            failed,
          ]);
          verifyLedger(simulator, options.transfers, `${mode}/${bucket}`);
          const start = simulatedNow() - Number(reply.simulatedMs);
          const timeline = simulator.ledger
            .map((record) => record.at)
            .sort((a, b) => a - b)
            .filter((_, index) => index % 10 === 9)
            .map((at) => round(Math.max(0, at - start) / 1000, 3));
          // The `scope` requests that filled the bucket are not part of the run.
          const hits = simulator.hits.slice(hitsBefore).filter((hit) => hit.method !== "scope");
          const simulatedSeconds = Number(reply.simulatedMs) / 1000;
          runs.push({
            name: `${mode} / ${bucket}${guard ? "" : " / no guard"}`,
            mode,
            guard,
            bucket,
            via,
            timeScale: scale,
            transfers: options.transfers,
            runs: repeats,
            runRates: [],
            simulatedSeconds: round(simulatedSeconds, 2),
            realSeconds: round(Number(reply.realMs) / 1000, 2),
            transfersPerSecond: round(options.transfers / simulatedSeconds, 2),
            ceilingPerSecond: ceiling(options, mode, bucket),
            invocations: Number(reply.invocations),
            rateLimitedInvocations: Number(reply.rateLimitedInvocations),
            bitrix24Requests: hits.length,
            refusedRequests: hits.filter((hit) => hit.error === "QUERY_LIMIT_EXCEEDED").length,
            timeline,
          });
        }
        const sorted = [...runs].sort((x, y) => x.transfersPerSecond - y.transfersPerSecond);
        const median = sorted[Math.floor((sorted.length - 1) / 2)] as ThroughputScenario;
        scenarios.push({ ...median, runRates: runs.map((run) => run.transfersPerSecond) });
      }
    }
    const rate = (mode: string, bucket: string, guard = true) =>
      scenarios.find(
        (scenario) => scenario.mode === mode && scenario.bucket === bucket && scenario.guard === guard,
      )?.transfersPerSecond ?? 0;
    return {
      options,
      batchVia,
      batchProbe,
      scenarios,
      ratioSaturated: round(rate("batch", "saturated") / rate("single", "saturated"), 1),
      ratioIdle: round(rate("batch", "idle") / rate("single", "idle"), 1),
      guardCost: {
        single: round(rate("single", "saturated") / rate("single", "saturated", false), 2),
        batch: round(rate("batch", "saturated") / rate("batch", "saturated", false), 2),
      },
    };
  } finally {
    // The child exits on this message without answering.
    if (child?.connected) child.send({ type: "exit" });
    await exited.catch(() => undefined);
  }
}

/** Every chat transferred exactly once: the ledger is the ground truth, not the callers' counts. */
function verifyLedger(simulator: Simulator, transfers: number, what: string): void {
  const chats = simulator.ledger.map((record) => record.chatId);
  const distinct = new Set(chats);
  if (chats.length !== transfers || distinct.size !== transfers) {
    throw new Error(
      `${what}: the portal performed ${chats.length} transfers of ${distinct.size} chats, expected ${transfers}`,
    );
  }
}

/**
 * The best the limit allows, in transfers per simulated second. Saturated: the first request may pass
 * at once, each further one waits for the bucket to drain one unit. Idle: the burst passes at once, each
 * further request waits one unit. In steady state the ratio batch ÷ single tends to the batch size.
 */
function ceiling(
  options: ThroughputOptions,
  mode: "single" | "batch",
  bucket: "saturated" | "idle",
): number | null {
  const perRequest = mode === "single" ? 1 : options.batchSize;
  const requests = Math.ceil(options.transfers / perRequest);
  const waiting = bucket === "saturated" ? requests - 1 : Math.max(0, requests - options.burst);
  return waiting === 0 ? null : round(options.transfers / (waiting / options.drainPerSecond), 2);
}
