import buildBundle from "../test/support/build-bundle.ts";

/**
 * Stryker starts vitest again for every mutant, in the same process, and vitest runs its global setup
 * each time. The sandbox's sources never change during a run (every mutant is compiled in, switched on
 * at run time), so one bundle per worker process serves all its mutants.
 */
const built = Symbol.for("b24-transfer.mutation.bundle-built");

export default async function buildBundleOnce(): Promise<void> {
  const state = globalThis as { [built]?: Promise<void> };
  state[built] ??= buildBundle();
  await state[built];
}
