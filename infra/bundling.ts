import { fileURLToPath } from "node:url";
import { type BuildOptions, build, buildSync } from "esbuild";

/**
 * The one esbuild configuration. `npm run build`, the tests, the benchmarks and `cdk synth` all bundle
 * through here, so what is measured and tested is byte for byte what is deployed.
 */

export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Each deployable function: its entry and the folder its bundle (`index.mjs`) goes to. */
export const LAMBDA_ENTRIES = {
  transfer: { entry: "lambda/index.ts", outdir: "dist/lambda" },
  authorizer: { entry: "lambda/authorizer.ts", outdir: "dist/authorizer" },
} as const;

export type LambdaName = keyof typeof LAMBDA_ENTRIES;

/**
 * Built-ins read through a CommonJS view (infra/node-builtins/*.cjs, `process.getBuiltinModule`) instead of
 * an ES `import`. Importing a built-in from ES code makes Node read every one of its exports, lazy getters
 * included: on Node 24 `import … from "node:http"` thereby loads undici, web streams and worker_threads for
 * `http.WebSocket` (≈20 ms of a cold start, docs/performance.md); node:util and node:process load
 * dozens of modules the same way. Through the CommonJS view only the exports the code uses are read.
 */
const CJS_BUILTINS = ["http", "util", "process"] as const;
const builtinAliases = Object.fromEntries(
  CJS_BUILTINS.flatMap((name) => {
    const shim = `${PROJECT_ROOT}infra/node-builtins/${name}.cjs`;
    return [
      [`node:${name}`, shim],
      [name, shim],
    ];
  }),
);

export function bundleOptions(name: LambdaName, outdir?: string): BuildOptions {
  const { entry, outdir: defaultOutdir } = LAMBDA_ENTRIES[name];
  return {
    absWorkingDir: PROJECT_ROOT,
    entryPoints: { index: entry },
    outdir: outdir ?? defaultOutdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    // Dynamic imports become their own chunks, loaded only by the invocations that need them
    // (e.g. the SQS client, used only when asynchronous work fails).
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    platform: "node",
    target: "node20",
    format: "esm",
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    // Prefer the ES module builds: the AWS SDK's are ~140 KB smaller than its CommonJS ones.
    mainFields: ["module", "main"],
    legalComments: "none",
    alias: builtinAliases,
    logLevel: "warning",
    // The SDK's CommonJS parts call require() for Node built-ins, which an ESM bundle lacks.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  };
}

export async function bundleLambda(name: LambdaName, outdir?: string): Promise<string> {
  const options = bundleOptions(name, outdir);
  await build(options);
  return options.outdir as string;
}

/** CDK's local bundling hook is synchronous. */
export function bundleLambdaSync(name: LambdaName, outdir: string): void {
  buildSync(bundleOptions(name, outdir));
}
