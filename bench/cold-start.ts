import { parseResult, runNode } from "./lib/children.ts";
import { median, quantile, round } from "./lib/stats.ts";
import type { World } from "./lib/world.ts";

/**
 * Cold start: a fresh `node` per sample that imports a bundle and performs the first transfer. Variants
 * are interleaved (the order rotates every round) so machine noise hits them all alike; one round is
 * run first and thrown away (disk cache, CPU frequency).
 */
export interface ColdVariant {
  name: string;
  label: string;
  file: string;
  /** The floor performs no transfer; every other variant must, and the simulator's ledger must show it. */
  transfers: boolean;
  env?: Record<string, string>;
  /** The event for a sample; by default the request itself, as a direct invocation delivers it. */
  event?: (chatId: number) => unknown;
}

interface ChildTimes {
  started: number;
  imported: number;
  transferred: number;
  result: unknown;
  error?: string;
}

export interface ColdSample {
  /** ms from process start until the harness's first line ran (Node's own bootstrap). */
  bootstrapMs: number;
  /** ms from process start until the bundle was imported. */
  importMs: number;
  /** ms from process start until the first transfer resolved: the cold start a caller waits for. */
  firstTransferMs: number;
  /** Parent's wall time, spawn() to exit. */
  wallMs: number;
}

export interface ColdStats {
  name: string;
  label: string;
  samples: number;
  bootstrap: { p50: number; p90: number };
  import: { p50: number; p90: number };
  /** Import of the bundle alone (importMs − bootstrapMs). */
  importOnly: { p50: number; p90: number };
  firstTransfer: { p50: number; p90: number };
  wall: { p50: number; p90: number };
}

export async function measureColdStarts(
  world: World,
  harness: string,
  variants: readonly ColdVariant[],
  samples: number,
  progress: (text: string) => void,
  node?: string,
): Promise<{ stats: ColdStats[]; raw: Record<string, ColdSample[]> }> {
  const raw: Record<string, ColdSample[]> = Object.fromEntries(variants.map((variant) => [variant.name, []]));
  for (let round = -1; round < samples; round++) {
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(k + Math.max(0, round)) % variants.length] as ColdVariant;
      const sample = await coldSample(world, harness, variant, 112 + ((round + 1) % 9), node);
      if (round >= 0) raw[variant.name]?.push(sample);
    }
    if (round >= 0) progress(`cold start: round ${round + 1}/${samples}`);
  }
  const stats = variants.map((variant) => summarizeCold(variant, raw[variant.name] ?? []));
  return { stats, raw };
}

async function coldSample(
  world: World,
  harness: string,
  variant: ColdVariant,
  chatId: number,
  node: string | undefined,
): Promise<ColdSample> {
  // Chats as seeded before every sample: the guard hands over only chats the bot still holds.
  world.simulator.reset();
  const before = world.simulator.ledger.length;
  const run = await runNode(harness, {
    args: [variant.file, JSON.stringify(variant.event?.(chatId) ?? { chatId, operatorId: 12 })],
    env: world.childEnv(variant.env),
    timeoutMs: 30_000,
    node,
  });
  const times = parseResult<ChildTimes>(run, `cold start of ${variant.name}`);
  if (times.error || run.code !== 0) {
    throw new Error(`cold start of ${variant.name} failed: ${times.error ?? `exit ${run.code}`}`);
  }
  if (variant.transfers) {
    // A direct invocation returns the answer; an API Gateway event returns it as the response's body.
    const answer = times.result as { body?: unknown; transferred?: unknown } | undefined;
    const body =
      typeof answer?.body === "string" ? (JSON.parse(answer.body) as { transferred?: unknown }) : answer;
    const transferred = body?.transferred === true;
    const record = world.simulator.ledger[before];
    if (!transferred || world.simulator.ledger.length !== before + 1 || record?.chatId !== chatId) {
      throw new Error(
        `cold start of ${variant.name}: the transfer of chat ${chatId} did not reach the portal`,
      );
    }
  }
  return {
    bootstrapMs: times.started,
    importMs: times.imported,
    firstTransferMs: times.transferred,
    wallMs: run.wallMs,
  };
}

function summarizeCold(variant: ColdVariant, samples: ColdSample[]): ColdStats {
  const pick = (values: number[]) => ({
    p50: round(median(values), 1),
    p90: round(quantile(values, 0.9), 1),
  });
  return {
    name: variant.name,
    label: variant.label,
    samples: samples.length,
    bootstrap: pick(samples.map((sample) => sample.bootstrapMs)),
    import: pick(samples.map((sample) => sample.importMs)),
    importOnly: pick(samples.map((sample) => sample.importMs - sample.bootstrapMs)),
    firstTransfer: pick(samples.map((sample) => sample.firstTransferMs)),
    wall: pick(samples.map((sample) => sample.wallMs)),
  };
}
