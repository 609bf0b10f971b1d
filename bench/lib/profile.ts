import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { groupOf } from "./build.ts";
import { runNode } from "./children.ts";
import { round } from "./stats.ts";

/**
 * Where a cold start's CPU time goes: `node --cpu-prof` of the cold-start harness, each sample's own
 * (self) time charged to the package or project folder its code came from (through the bundles' source
 * maps) or to the part of Node it ran in. Summed over several fresh processes and divided by their number.
 */
export interface ProfileEntry {
  where: string;
  /** Mean self time per process, ms. */
  ms: number;
}

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { url: string; lineNumber: number; columnNumber: number; functionName: string };
  }[];
  samples: number[];
  timeDeltas: number[];
}

export async function profileColdStart(options: {
  harness: string;
  bundle: string;
  event: string;
  env: NodeJS.ProcessEnv;
  runs: number;
  mode: "full" | "import-only";
}): Promise<ProfileEntry[]> {
  const dir = mkdtempSync(join(tmpdir(), "b24-bench-prof-"));
  const cleanUp = () => rmSync(dir, { recursive: true, force: true });
  process.once("exit", cleanUp);
  try {
    for (let i = 0; i < options.runs; i++) {
      await runNode(options.harness, {
        args: [options.bundle, options.event, options.mode],
        env: options.env,
        nodeFlags: ["--cpu-prof", "--cpu-prof-interval", "100", "--cpu-prof-dir", dir],
        timeoutMs: 30_000,
      });
    }
    return aggregateProfiles(dir);
  } finally {
    cleanUp();
    process.off("exit", cleanUp);
  }
}

/** Self time by package or Node area, mean per .cpuprofile file in `dir`. */
export function aggregateProfiles(dir: string): ProfileEntry[] {
  const totals = new Map<string, number>();
  const maps = new Map<string, SourceMap | undefined>();
  const files = readdirSync(dir).filter((name) => name.endsWith(".cpuprofile"));
  for (const name of files) {
    const profile = JSON.parse(readFileSync(join(dir, name), "utf8")) as CpuProfile;
    const where = new Map(profile.nodes.map((node) => [node.id, classify(node.callFrame, maps)]));
    profile.samples.forEach((id, index) => {
      const key = where.get(id) ?? "(unknown)";
      totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
    });
  }
  const runs = Math.max(1, files.length);
  return [...totals]
    .map(([key, ms]) => ({ where: key, ms: round(ms / runs, 1) }))
    .filter((entry) => entry.ms >= 0.5)
    .sort((a, b) => b.ms - a.ms || a.where.localeCompare(b.where));
}

function classify(
  frame: { url: string; lineNumber: number; columnNumber: number; functionName: string },
  maps: Map<string, SourceMap | undefined>,
): string {
  const { url } = frame;
  if (url === "") {
    // V8's pseudo-frames: "(program)" is native work such as parsing and compiling, "(garbage collector)".
    return frame.functionName.startsWith("(")
      ? frame.functionName
      : `native ${frame.functionName || "(anonymous)"}`;
  }
  if (url.startsWith("node:")) return nodeArea(url);
  if (!url.startsWith("file:")) return url;
  const file = fileURLToPath(url);
  if (!maps.has(file)) maps.set(file, loadMap(file));
  const map = maps.get(file);
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber) as
    | { originalSource?: string }
    | undefined;
  if (!entry?.originalSource) return file.includes("/harness/") ? "bench harness" : `bundle (unmapped)`;
  return groupOf(
    entry.originalSource.replace(/^(?:file:\/\/)?(?:[^/]*\/)*?(node_modules|lambda|bench)\//, "$1/"),
  );
}

function loadMap(file: string): SourceMap | undefined {
  const path = `${file}.map`;
  if (!existsSync(path)) return undefined;
  return new SourceMap(JSON.parse(readFileSync(path, "utf8")) as SourceMapPayload);
}

/** Node's own JavaScript, by the area a cold start cares about. */
function nodeArea(url: string): string {
  if (url.includes("undici")) return "node: fetch (undici, loaded on first use)";
  if (url.includes("source_map")) return "node: --enable-source-maps";
  // compileSourceTextModule: V8 parsing and compiling a module's source, which grows with the bundle.
  if (url.endsWith("modules/esm/utils")) return "node: compiling ES modules";
  // compileForInternalLoader: Node's own built-ins (node:https, node:tls…) loaded on first require.
  if (url.endsWith("bootstrap/realm")) return "node: loading built-in modules";
  if (/modules|vm/.test(url)) return "node: module loader";
  if (/tls|crypto|https?|_http|net|dns|stream|webstreams/.test(url)) return "node: http/tls/net/streams";
  if (/pre_execution|run_main|bootstrap|process\/|main\//.test(url)) return "node: process start-up";
  return "node: other";
}
