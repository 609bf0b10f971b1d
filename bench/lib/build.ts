import { readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { type BuildOptions, build, type Metafile, type Plugin } from "esbuild";
import { bundleOptions, PROJECT_ROOT } from "../../infra/bundling.ts";

/**
 * Every bundle the benchmark runs, built with the project's one esbuild configuration
 * (infra/bundling.ts: ESM, minified, node target, module-first main fields, createRequire banner), so
 * ours and the baselines differ only in their code. Ours goes where `npm run build` and CDK put it; the
 * rest under dist/bench/<name>/.
 */

export interface BuiltBundle {
  name: string;
  /** Absolute path of the entry, index.mjs. */
  file: string;
  /** The entry and the chunks it imports statically: what a cold start loads. */
  startup: Size;
  /** Every JavaScript file of the artifact, lazily loaded chunks included. */
  all: Size;
  /** Source maps shipped beside the code (read at load only with --enable-source-maps). */
  mapBytes: number;
  files: number;
  /** Largest contributors to the startup code, by package (or project folder), in bytes of output. */
  composition: { input: string; bytes: number }[];
}

export interface Size {
  bytes: number;
  /** Each file gzipped (-9) on its own, summed: close to what the deployment zip holds. */
  gzipBytes: number;
}

export const BASELINES = ["floor", "naive", "b24jssdk"] as const;
export type BaselineName = (typeof BASELINES)[number];

export async function buildOurs(): Promise<BuiltBundle> {
  // The deployable artifact itself, byte for byte (the metafile only reports on it).
  const options = bundleOptions("transfer");
  return finish("ours", options.outdir as string, await build({ ...options, metafile: true }));
}

export async function buildBaseline(name: BaselineName): Promise<BuiltBundle> {
  cleanBenchOutput(name);
  const options: BuildOptions = {
    ...bundleOptions("transfer", `dist/bench/${name}`),
    entryPoints: { index: `bench/baselines/${name}.ts` },
  };
  return finish(name, options.outdir as string, await build({ ...options, metafile: true }));
}

/**
 * Ours with some project files changed: how a proposed change would measure, without touching lambda/.
 * `swaps` maps a path under lambda/ to a replacement file under bench/variants/, or to a function that
 * rewrites the original source (kept in place, so its relative imports still resolve). `inject` files
 * replace globals (esbuild `inject`), e.g. a `fetch` built on node:https.
 */
export type Swap = string | ((source: string) => string);

export async function buildVariant(
  name: string,
  swaps: Record<string, Swap>,
  inject: string[] = [],
  overrides: Partial<BuildOptions> = {},
): Promise<BuiltBundle> {
  cleanBenchOutput(name);
  const byPath = new Map(Object.entries(swaps).map(([from, swap]) => [join(PROJECT_ROOT, from), swap]));
  const plugin: Plugin = {
    name: "bench-swap",
    setup(esbuild) {
      esbuild.onLoad({ filter: /\.ts$/ }, (args) => {
        const swap = byPath.get(args.path);
        if (swap === undefined) return undefined;
        if (typeof swap === "function") {
          const original = readFileSync(args.path, "utf8");
          const contents = swap(original);
          if (contents === original) throw new Error(`${name}: the rewrite of ${args.path} changed nothing`);
          return { contents, loader: "ts", resolveDir: dirname(args.path) };
        }
        const file = join(PROJECT_ROOT, swap);
        return { contents: readFileSync(file, "utf8"), loader: "ts", resolveDir: dirname(file) };
      });
    },
  };
  const options: BuildOptions = {
    ...bundleOptions("transfer", `dist/bench/${name}`),
    plugins: [plugin],
    inject: inject.map((file) => join(PROJECT_ROOT, file)),
    ...overrides,
  };
  return finish(name, options.outdir as string, await build({ ...options, metafile: true }));
}

/** The child-process harnesses: plain ESM, not minified, importing nothing a handler could share. */
export async function buildHarnesses(): Promise<Record<"cold" | "warm" | "throughput", string>> {
  const outdir = join(PROJECT_ROOT, "dist/bench/harness");
  await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: {
      cold: "bench/harness/cold.ts",
      warm: "bench/harness/warm.ts",
      throughput: "bench/harness/throughput.ts",
    },
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    logLevel: "warning",
  });
  return {
    cold: join(outdir, "cold.mjs"),
    warm: join(outdir, "warm.mjs"),
    throughput: join(outdir, "throughput.mjs"),
  };
}

function finish(name: string, outdir: string, result: { metafile?: Metafile }): BuiltBundle {
  const outputs = result.metafile?.outputs ?? {};
  const js = Object.keys(outputs).filter((path) => path.endsWith(".mjs"));
  // Dynamically imported chunks are entry points to esbuild too; the handler's is <outdir>/index.mjs.
  const entry = js.find((path) => path === `${outdir}/index.mjs`);
  if (!entry) throw new Error(`${name}: esbuild reported no entry output`);

  // The entry plus everything it imports statically, transitively: loaded before the handler exists.
  const startup = new Set<string>();
  const visit = (path: string) => {
    if (startup.has(path)) return;
    startup.add(path);
    for (const imported of outputs[path]?.imports ?? []) {
      if (imported.kind === "import-statement" && !imported.external) visit(imported.path);
    }
  };
  visit(entry);

  const size = (paths: Iterable<string>): Size => {
    let bytes = 0;
    let gzipBytes = 0;
    for (const path of paths) {
      const content = readFileSync(join(PROJECT_ROOT, path));
      bytes += content.length;
      gzipBytes += gzipSync(content, { level: 9 }).length;
    }
    return { bytes, gzipBytes };
  };
  const mapBytes = Object.keys(outputs)
    .filter((path) => path.endsWith(".map"))
    .reduce((sum, path) => sum + (outputs[path]?.bytes ?? 0), 0);

  const totals = new Map<string, number>();
  for (const path of startup) {
    for (const [input, info] of Object.entries(outputs[path]?.inputs ?? {})) {
      totals.set(groupOf(input), (totals.get(groupOf(input)) ?? 0) + info.bytesInOutput);
    }
  }
  const composition = [...totals]
    .map(([input, bytes]) => ({ input, bytes }))
    .filter((entry) => entry.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes || a.input.localeCompare(b.input));

  return {
    name,
    file: join(PROJECT_ROOT, entry),
    startup: size(startup),
    all: size(js),
    mapBytes,
    files: js.length,
    composition,
  };
}

/** "node_modules/@smithy/core/dist-es/…" → "@smithy/core"; "lambda/adapters/x.ts" → "lambda/adapters". */
export function groupOf(path: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg?.[1]) return pkg[1];
  const parts = path.split("/");
  return parts.length > 2 ? parts.slice(0, 2).join("/") : path;
}

/** Our own output folders only (dist/bench/<name>): stale chunks from an earlier build must not linger. */
function cleanBenchOutput(name: string): void {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bad bundle name ${name}`);
  rmSync(join(PROJECT_ROOT, "dist/bench", name), { recursive: true, force: true });
}
