import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { bundleLambda, LAMBDA_ENTRIES, PROJECT_ROOT } from "../../infra/bundling.ts";

/**
 * Builds the deployable bundle once per test run. Several vitest processes may share one checkout
 * (mutation testing runs one per worker), so each builds into a scratch folder and swaps it in with
 * renames: none ever reads a half-written bundle.
 */
export default async function buildBundle(): Promise<void> {
  const target = join(PROJECT_ROOT, LAMBDA_ENTRIES.transfer.outdir);
  const scratch = `${target}.build-${process.pid}`;
  const old = `${target}.old-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  await bundleLambda("transfer", scratch);
  await rename(target, old).catch(() => {});
  // Fails only if another process swapped its (identical) bundle in between: keep that one.
  await rename(scratch, target).catch(() => rm(scratch, { recursive: true, force: true }));
  await rm(old, { recursive: true, force: true });
}
