/**
 * `npm run bench`: builds the deployable bundle and the baselines, then measures on loopback against the
 * Bitrix24 simulator and a Secrets Manager stand-in (both behind TLS): bundle sizes, cold start, warm
 * overhead and throughput under the rate limit. Prints Markdown tables and writes bench/results.json.
 *
 *   npm run bench                 full run (~1.5 minutes on 2 cores), writes bench/results.json
 *   npm run bench -- --quick      fewer samples, for a smoke test; writes dist/bench/results.json
 *   npm run bench -- --only=cold,warm,throughput   some sections; writes dist/bench/results.json
 *
 * Every child process has its own time limit and the whole run has one (BENCH_TIME_LIMIT_S, default 600; 240 with --quick);
 * on a limit, an error or Ctrl-C the children this run started are killed and the run exits non-zero.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../infra/bundling.ts";
import { type ColdVariant, measureColdStarts } from "./cold-start.ts";
import {
  BASELINES,
  type BuiltBundle,
  buildBaseline,
  buildHarnesses,
  buildOurs,
  buildVariant,
} from "./lib/build.ts";
import { benchChart } from "./lib/chart.ts";
import { killAllChildren, setChildNode } from "./lib/children.ts";
import { machineInfo } from "./lib/machine.ts";
import { benchNodes } from "./lib/nodes.ts";
import { profileColdStart } from "./lib/profile.ts";
import { type ColdRow, type Goal, renderReport } from "./lib/report.ts";
import { median, round } from "./lib/stats.ts";
import { startWorld } from "./lib/world.ts";
import { measureThroughput, type ThroughputResult } from "./throughput.ts";
import { measureWarm, type WarmStats } from "./warm.ts";

const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  console.log(`usage: npm run bench [-- --quick] [-- --only=cold,warm,throughput]

Measures the deployable bundle on loopback (simulator and Secrets Manager stand-in behind TLS) side by
side with a naive handler and the official SDK: bundle sizes, cold start on Node 24 (and Node 20),
warm overhead and throughput under Bitrix24's rate limit. A full run writes bench/results.json and
docs/performance.svg; --quick and --only write under dist/bench/.
  BENCH_NODE24=<path to node>   the Node 24 binary to use (default: installed from the npm registry)
  BENCH_TIME_LIMIT_S=600        the whole run's time limit`);
  process.exit(0);
}
const quick = argv.includes("--quick");
const only = argv
  .find((arg) => arg.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",");
const runs = (section: string) => !only || only.includes(section);

const settings = {
  coldSamples: quick ? 5 : 40,
  profileRuns: quick ? 2 : 6,
  warmIterations: quick ? 1000 : 5000,
  warmBaselineIterations: quick ? 300 : 1000,
  warmup: quick ? 100 : 300,
  throughput: {
    transfers: 500,
    // The cloud limit. Single calls run on a clock 20× faster (500 take ~12 s instead of ~4 minutes);
    // batches, which take seconds, in real time.
    scale: 20,
    batchScale: 1,
    batchRepeats: quick ? 1 : 5,
    workers: 5,
    batchSize: 50,
    burst: 50,
    drainPerSecond: 2,
  },
};

const timeLimitS = Number(process.env.BENCH_TIME_LIMIT_S ?? (quick ? 240 : 600));
const watchdog = setTimeout(() => {
  console.error(`bench: over the time limit of ${timeLimitS} s; stopping`);
  killAllChildren();
  process.exit(2);
}, timeLimitS * 1000);
watchdog.unref();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

const log = (text: string) => console.error(`[bench] ${text}`);

/** A minimal HTTP API (payload 2.0) event, as API Gateway sends it to the function. */
function apiGatewayEvent(chatId: number, idempotencyKey?: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
  return {
    version: "2.0",
    routeKey: "POST /transfers",
    rawPath: "/transfers",
    rawQueryString: "",
    headers,
    requestContext: { http: { method: "POST", path: "/transfers" }, requestId: `bench-${chatId}` },
    body: JSON.stringify({ chatId, operatorId: 12 }),
    isBase64Encoded: false,
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  log("building the deployable bundle, the baselines and the variant");
  const ours = await buildOurs();
  const [floor, naive, b24jssdk] = await Promise.all(BASELINES.map((name) => buildBaseline(name)));
  if (!floor || !naive || !b24jssdk) throw new Error("a baseline did not build");
  const baselines = { floor, naive, b24jssdk };
  // Ours as bundled before this issue's change: built-ins as ES imports, which on Node 24 load undici.
  const esmBuiltins = await buildVariant("ours-esm-builtins", {}, [], { alias: {} });
  const harness = await buildHarnesses();
  const bundles: BuiltBundle[] = [ours, naive, b24jssdk, floor, esmBuiltins];
  const nodes = benchNodes(log);
  setChildNode(nodes.primary.path);
  log(
    `children run on Node ${nodes.primary.version}${nodes.comparison ? `; cold starts also on ${nodes.comparison.version}` : ""}`,
  );

  const world = await startWorld();
  // As deployed: the function has the Parameters and Secrets extension (emulated here on loopback).
  const DEPLOYED_ENV = world.extension.env();
  const compileCache = join(PROJECT_ROOT, "dist/bench/compile-cache");
  rmSync(compileCache, { recursive: true, force: true });
  try {
    let cold: ColdRow[] = [];
    const coldByNode: ColdByNode[] = [];
    const profile: { label: string; entries: Awaited<ReturnType<typeof profileColdStart>> }[] = [];
    if (runs("cold")) {
      const variants: ColdVariant[] = [
        { name: "floor", label: "floor: empty handler", file: baselines.floor.file, transfers: false },
        {
          name: "ours",
          label: "ours (as deployed: secret through the extension)",
          file: ours.file,
          transfers: true,
          env: DEPLOYED_ENV,
        },
        {
          // The same, with `"guard": false`: the first transfer without the guard's read of the chat.
          name: "ours-no-guard",
          label: 'ours (as deployed), "guard": false: no read before the transfer',
          file: ours.file,
          transfers: true,
          env: DEPLOYED_ENV,
          event: (chatId) => ({ chatId, operatorId: 12, guard: false }),
        },
        {
          name: "ours-sdk",
          label: "ours without the extension (AWS SDK reads the secret)",
          file: ours.file,
          transfers: true,
        },
        {
          name: "ours-no-init-read",
          label: "ours, extension, secret not read during INIT",
          file: ours.file,
          transfers: true,
          env: { ...DEPLOYED_ENV, AWS_LAMBDA_INITIALIZATION_TYPE: "" },
        },
        {
          name: "ours-esm-builtins",
          label: "ours without the extension, built-ins as ES imports (the bundle before)",
          file: esmBuiltins.file,
          transfers: true,
        },
        {
          // Node 22.1+ only (Node 20 ignores the variable). The discarded first round fills the cache.
          name: "ours-compile-cache",
          label: "ours, extension, with a filled NODE_COMPILE_CACHE (not adopted)",
          file: ours.file,
          transfers: true,
          env: { ...DEPLOYED_ENV, NODE_COMPILE_CACHE: compileCache },
        },
        { name: "naive", label: "naive: zod + AWS SDK + fetch", file: baselines.naive.file, transfers: true },
        {
          name: "b24jssdk",
          label: "official SDK (b24jssdk B24Hook)",
          file: baselines.b24jssdk.file,
          transfers: true,
        },
        {
          name: "ours-http",
          label: "ours, API Gateway event without an Idempotency-Key",
          file: ours.file,
          transfers: true,
          env: DEPLOYED_ENV,
          event: (chatId) => apiGatewayEvent(chatId),
        },
        {
          name: "ours-http-key",
          label: "ours, API Gateway event with an Idempotency-Key (loads Powertools Idempotency + DynamoDB)",
          file: ours.file,
          transfers: true,
          env: DEPLOYED_ENV,
          event: (chatId) => apiGatewayEvent(chatId, randomUUID()),
        },
      ];
      for (const node of [nodes.primary, ...(nodes.comparison ? [nodes.comparison] : [])]) {
        log(
          `cold start on Node ${node.version}: ${variants.length} variants × ${settings.coldSamples} samples`,
        );
        const measured = await measureColdStarts(
          world,
          harness.cold,
          variants,
          settings.coldSamples,
          log,
          node.path,
        );
        coldByNode.push({
          node: node.key,
          version: node.version,
          rows: coldRows(measured.stats, measured.raw),
          firstTransferSamples: Object.fromEntries(
            Object.entries(measured.raw).map(([name, samples]) => [
              name,
              samples.map((sample) => round(sample.firstTransferMs, 1)),
            ]),
          ),
        });
      }
      cold = coldByNode[0]?.rows ?? [];

      log("cold start: CPU profiles");
      const event = JSON.stringify({ chatId: 112, operatorId: 12 });
      for (const [label, file, env, mode] of [
        ["floor", baselines.floor.file, {}, "full"],
        ["ours: import only", ours.file, DEPLOYED_ENV, "import-only"],
        ["ours: import + first transfer", ours.file, DEPLOYED_ENV, "full"],
        ["ours without the extension: import + first transfer", ours.file, {}, "full"],
        ["ours, ES imports of built-ins: import only", esmBuiltins.file, {}, "import-only"],
        ["naive: import + first transfer", baselines.naive.file, {}, "full"],
      ] as const) {
        const entries = await profileColdStart({
          harness: harness.cold,
          bundle: file,
          event,
          env: world.childEnv(env),
          runs: settings.profileRuns,
          mode,
        });
        profile.push({ label, entries });
      }
    }

    const warm: WarmStats[] = [];
    if (runs("warm")) {
      for (const variant of [
        {
          name: "ours",
          label: "ours (as deployed)",
          file: ours.file,
          iterations: settings.warmIterations,
          env: DEPLOYED_ENV,
        },
        {
          // Every invocation after more than the kept-alive idle bound (http-exchange.ts): each pays a
          // new TLS handshake. The secret stays cached so the difference is the connection alone.
          name: "ours-after-idle",
          label: "ours, each call after 5 s idle (new TLS connection)",
          file: ours.file,
          iterations: settings.warmBaselineIterations,
          env: { ...DEPLOYED_ENV, IDLE_MS: "5000", SECRET_CACHE_TTL_SECONDS: "31536000" },
        },
        {
          name: "naive",
          label: "naive",
          file: baselines.naive.file,
          iterations: settings.warmBaselineIterations,
        },
        {
          name: "b24jssdk",
          label: "official SDK (client-side limiter lifted)",
          file: baselines.b24jssdk.file,
          iterations: settings.warmBaselineIterations,
          env: { BENCH_SDK_UNLIMITED: "true" },
        },
      ]) {
        log(`warm: ${variant.name}, ${variant.iterations} invocations`);
        warm.push(await measureWarm(world, harness.warm, variant, settings.warmup));
      }
    }

    let throughput: ThroughputResult | undefined;
    if (runs("throughput")) {
      throughput = await measureThroughput(world, harness.throughput, ours.file, settings.throughput, log);
    }

    const goals = evaluateGoals(cold, warm, throughput);
    const machine = machineInfo();
    const results = {
      schema: 1,
      generatedAt: new Date().toISOString(),
      durationSeconds: round((performance.now() - started) / 1000, 1),
      machine,
      settings: { ...settings, quick },
      bundles: bundles.map((bundle) => ({
        name: bundle.name,
        startupBytes: bundle.startup.bytes,
        startupGzipBytes: bundle.startup.gzipBytes,
        allBytes: bundle.all.bytes,
        allGzipBytes: bundle.all.gzipBytes,
        mapBytes: bundle.mapBytes,
        files: bundle.files,
        startupComposition: bundle.composition.slice(0, 12),
      })),
      nodes: { primary: nodes.primary.version, comparison: nodes.comparison?.version ?? null },
      coldStart: cold,
      coldStartByNode: coldByNode,
      coldStartProfile: profile,
      warm,
      throughput: throughput ?? null,
      goals,
    };
    // Only a full run replaces the committed results; --quick and --only runs write under dist/.
    const file = join(PROJECT_ROOT, quick || only ? "dist/bench/results.json" : "bench/results.json");
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    if (!quick && !only) formatWithBiome(file);
    const chartFile = join(
      PROJECT_ROOT,
      quick || only ? "dist/bench/performance.svg" : "docs/performance.svg",
    );
    writeFileSync(chartFile, benchChart(coldByNode, throughput));

    console.log(
      renderReport({
        machine,
        bundles,
        cold,
        coldByNode,
        coldSamples: settings.coldSamples,
        childNode: nodes.primary.version,
        profile,
        warm,
        throughput,
        goals,
      }),
    );
    log(`wrote ${file} and ${chartFile} in ${results.durationSeconds} s`);
  } finally {
    await world.close();
  }
}

export interface ColdByNode {
  node: string;
  version: string;
  rows: ColdRow[];
  firstTransferSamples: Record<string, number[]>;
}

/** The committed file in the project's own format, so `npm run lint` stays clean after a run. */
function formatWithBiome(file: string): void {
  try {
    execFileSync(join(PROJECT_ROOT, "node_modules/.bin/biome"), ["format", "--write", file], {
      cwd: PROJECT_ROOT,
      stdio: "ignore",
      timeout: 30_000,
    });
  } catch {
    log(`could not format ${file} with biome; run npx biome format --write on it`);
  }
}

function coldRows(
  stats: Awaited<ReturnType<typeof measureColdStarts>>["stats"],
  raw: Awaited<ReturnType<typeof measureColdStarts>>["raw"],
): ColdRow[] {
  const floor = stats.find((row) => row.name === "floor");
  const naive = stats.find((row) => row.name === "naive");
  const floorMs = floor?.firstTransfer.p50 ?? Number.NaN;
  const naiveOverhead = (naive?.firstTransfer.p50 ?? Number.NaN) - floorMs;
  return stats.map((row) => {
    const overhead = row.firstTransfer.p50 - floorMs;
    return {
      ...row,
      overheadMs: row.name === "floor" ? null : round(overhead, 1),
      timesFloor: round(row.firstTransfer.p50 / floorMs, 2),
      timesNaive: round(row.firstTransfer.p50 / (naive?.firstTransfer.p50 ?? Number.NaN), 2),
      overheadVsNaive: row.name === "floor" ? null : round(overhead / naiveOverhead, 2),
      overheadVsNaivePaired: row.name === "floor" ? null : pairedRatio(raw, row.name),
    };
  });
}

/**
 * The same ratio within each round (the variants of a round run back to back), then the median over
 * rounds: a load burst on the shared machine then moves one round's ratio, not the medians it is built from.
 */
function pairedRatio(raw: Awaited<ReturnType<typeof measureColdStarts>>["raw"], name: string): number | null {
  const [floor, naive, variant] = [raw.floor, raw.naive, raw[name]];
  if (!floor || !naive || !variant) return null;
  const ratios = variant.flatMap((sample, round) => {
    const base = floor[round]?.firstTransferMs;
    const reference = naive[round]?.firstTransferMs;
    if (base === undefined || reference === undefined || reference <= base) return [];
    return [(sample.firstTransferMs - base) / (reference - base)];
  });
  return ratios.length > 0 ? round(median(ratios), 2) : null;
}

function evaluateGoals(cold: ColdRow[], warm: WarmStats[], throughput: ThroughputResult | undefined): Goal[] {
  const goals: Goal[] = [];
  const ours = cold.find((row) => row.name === "ours");
  if (ours?.overheadVsNaive != null) {
    goals.push({
      goal: "cold-start overhead over the floor ≤ 50% of the naive handler's",
      target: "≤ 0.50",
      measured: `${ours.overheadVsNaive.toFixed(2)} (${ours.overheadMs} ms vs ${round((ours.overheadMs ?? 0) / ours.overheadVsNaive, 1)} ms); paired per round: ${ours.overheadVsNaivePaired?.toFixed(2) ?? "–"}`,
      met: ours.overheadVsNaive <= 0.5,
    });
  }
  const oursWarm = warm.find((row) => row.name === "ours");
  if (oursWarm) {
    goals.push({
      goal: "warm overhead p50, with no Secrets Manager call after the first",
      target: "< 0.5 ms, 0 calls",
      measured: `${oursWarm.overhead.p50.toFixed(3)} ms, ${oursWarm.secretsManagerCallsPer1000} calls / 1,000`,
      met: oursWarm.overhead.p50 < 0.5 && oursWarm.secretsManagerCallsPer1000 === 0,
    });
  }
  if (throughput) {
    goals.push({
      goal: "batch throughput vs single calls under the limit (steady state)",
      target: "≥ 40×",
      measured: `${throughput.ratioSaturated}× (${throughput.batchVia} batch)`,
      met: throughput.ratioSaturated >= 40,
    });
  }
  return goals;
}

main().then(
  () => {
    clearTimeout(watchdog);
    process.exit(0);
  },
  (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    killAllChildren();
    process.exit(1);
  },
);
