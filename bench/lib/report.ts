import type { ColdStats } from "../cold-start.ts";
import type { ThroughputResult } from "../throughput.ts";
import type { WarmStats } from "../warm.ts";
import type { BuiltBundle } from "./build.ts";
import type { MachineInfo } from "./machine.ts";
import type { ProfileEntry } from "./profile.ts";

/** Markdown tables: readable in a terminal, pasted as is into docs/performance.md. */
const table = (head: string[], rows: (string | number)[][]) =>
  [
    `| ${head.join(" | ")} |`,
    `|${head.map((_, index) => (index === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");

const BUNDLE_LABELS: Record<string, string> = {
  ours: "**ours** (dist/lambda, deployed)",
  naive: "naive",
  b24jssdk: "official SDK",
  floor: "floor",
  "ours-esm-builtins": "ours with built-ins as ES imports (the bundle before)",
};

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const ms = (value: number) => value.toFixed(1);
const fine = (value: number) => value.toFixed(3);

export interface ColdRow extends ColdStats {
  overheadMs: number | null;
  timesFloor: number;
  timesNaive: number;
  overheadVsNaive: number | null;
  /** The ratio within each round, median over rounds. */
  overheadVsNaivePaired: number | null;
}

export interface Goal {
  goal: string;
  target: string;
  measured: string;
  met: boolean;
}

export interface Report {
  machine: MachineInfo;
  bundles: BuiltBundle[];
  cold: ColdRow[];
  coldByNode: { node: string; version: string; rows: ColdRow[] }[];
  coldSamples: number;
  /** The Node version the children ran on (cold starts also on the others of coldByNode). */
  childNode: string;
  profile: { label: string; entries: ProfileEntry[] }[];
  warm: WarmStats[];
  throughput: ThroughputResult | undefined;
  goals: Goal[];
}

export function renderReport(report: Report): string {
  const { machine, throughput } = report;
  const parts: string[] = [];
  parts.push(
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; the benchmark ran on Node ${machine.node}, its children on Node ${report.childNode}`,
  );

  parts.push(
    "### 1. Bundles (esbuild, infra/bundling.ts options)",
    table(
      ["bundle", "loaded at cold start", "gzip", "whole artifact (all chunks)", "gzip", "files"],
      report.bundles.map((bundle) => [
        BUNDLE_LABELS[bundle.name] ?? bundle.name,
        kb(bundle.startup.bytes),
        kb(bundle.startup.gzipBytes),
        kb(bundle.all.bytes),
        kb(bundle.all.gzipBytes),
        bundle.files,
      ]),
    ),
  );

  for (const [index, entry] of report.coldByNode.entries()) {
    parts.push(
      `### 2${"abc"[index] ?? ""}. Cold start on Node ${entry.version}: fresh \`node\` per sample, ${report.coldSamples} samples per variant, interleaved (ms)`,
      table(
        [
          "variant",
          "node start p50",
          "import p50",
          "first transfer p50",
          "first transfer p90",
          "parent wall p50",
          "over floor p50",
          "× floor",
          "× naive",
          "overhead ÷ naive's",
          "… paired per round",
        ],
        entry.rows.map((row) => [
          row.name === "ours" ? `**${row.label}**` : row.label,
          ms(row.bootstrap.p50),
          ms(row.importOnly.p50),
          `**${ms(row.firstTransfer.p50)}**`,
          ms(row.firstTransfer.p90),
          ms(row.wall.p50),
          row.overheadMs === null ? "–" : ms(row.overheadMs),
          row.timesFloor.toFixed(2),
          row.timesNaive.toFixed(2),
          row.overheadVsNaive === null ? "–" : row.overheadVsNaive.toFixed(2),
          row.overheadVsNaivePaired === null ? "–" : row.overheadVsNaivePaired.toFixed(2),
        ]),
      ),
      "'node start': process start → first line of the harness; 'import': importing the bundle; 'first transfer': " +
        "process start → the first transfer confirmed (what a caller waits for on a cold start, minus the Lambda " +
        "service's own part); 'parent wall': spawn → exit as the parent sees it, process teardown included.",
    );
  }

  if (report.profile.length > 0) {
    const keys = new Map<string, number>();
    for (const profile of report.profile) {
      for (const entry of profile.entries)
        keys.set(entry.where, Math.max(keys.get(entry.where) ?? 0, entry.ms));
    }
    const rows = [...keys]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 18)
      .map(([where]) => [
        where,
        ...report.profile.map((profile) => {
          const found = profile.entries.find((entry) => entry.where === where);
          return found ? ms(found.ms) : "";
        }),
      ]);
    const totals = report.profile.map((profile) =>
      ms(profile.entries.reduce((sum, entry) => sum + entry.ms, 0)),
    );
    parts.push(
      "#### Where a cold start's time goes: `node --cpu-prof`, self time per process (ms), by package (via source maps) or Node area",
      table(
        ["where", ...report.profile.map((profile) => profile.label)],
        [...rows, ["**total sampled**", ...totals]],
      ),
      "Profiling slows the process down; compare rows, not totals with the table above. (idle) is waiting on I/O.",
    );
  }

  if (report.warm.length > 0) {
    parts.push(
      "### 3. Warm overhead: direct invocations vs a bare fetch of the same method (ms)",
      table(
        [
          "handler",
          "invocations",
          "bare fetch p50",
          "handler p50",
          "handler p99",
          "overhead p50",
          "overhead p99",
          "Secrets Manager calls / 1,000",
        ],
        report.warm.map((row) => [
          row.name === "ours" ? `**${row.label}**` : row.label,
          row.iterations,
          fine(row.floor.p50),
          fine(row.handler.p50),
          fine(row.handler.p99),
          `**${fine(row.overhead.p50)}**`,
          fine(row.overhead.p99),
          row.secretsManagerCallsPer1000,
        ]),
      ),
      "Overhead = handler − bare fetch, paired per iteration (the two alternate in order).",
    );
  }

  if (throughput) {
    const options = throughput.options;
    const idleSingle = throughput.scenarios.find(
      (row) => row.mode === "single" && row.bucket === "idle" && row.guard,
    );
    parts.push(
      `### 4. Throughput under the limit (burst ${options.burst}, drain ${options.drainPerSecond}/s; ${options.workers} concurrent callers; ${options.transfers} transfers per scenario)`,
      table(
        [
          "scenario",
          "batch via",
          "clock",
          "simulated s",
          "transfers/s",
          "ceiling/s",
          "invocations",
          "Bitrix24 requests",
          "refused (503)",
        ],
        throughput.scenarios.map((row) => [
          row.runs > 1 ? `${row.name} (median of ${row.runs}: ${row.runRates.join(", ")})` : row.name,
          row.mode === "single" ? "–" : row.via,
          row.timeScale === 1 ? "real time" : `×${row.timeScale}`,
          row.simulatedSeconds.toFixed(2),
          `**${row.transfersPerSecond.toFixed(2)}**`,
          row.ceilingPerSecond === null ? "no wait" : row.ceilingPerSecond.toFixed(2),
          row.invocations,
          row.bitrix24Requests,
          row.refusedRequests,
        ]),
      ),
      `Batch ÷ single, steady state (saturated bucket): **${throughput.ratioSaturated}×** (the limit allows at most ${options.batchSize}× in the long run). ` +
        `From an idle bucket the ${Math.ceil(options.transfers / options.batchSize)} batches fit in the burst and never wait, so their rate is local processing speed ` +
        `(${throughput.ratioIdle}× the single calls' ${idleSingle?.simulatedSeconds.toFixed(0) ?? "?"} s), not a property of the limit. Batches: ${throughput.batchProbe}. ` +
        `The guard's reads, steady state: guarded ÷ unguarded transfers/s = **${throughput.guardCost.single}×** for single calls (each is two calls), **${throughput.guardCost.batch}×** for batches of ${options.batchSize} (two batch calls instead of one).`,
    );
  }

  parts.push(
    "### Goals",
    table(
      ["goal", "target", "measured", ""],
      report.goals.map((goal) => [goal.goal, goal.target, goal.measured, goal.met ? "met" : "**missed**"]),
    ),
  );
  return parts.join("\n\n");
}
