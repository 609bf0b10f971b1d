import type { ChildProcess } from "node:child_process";
import { DEMO_BOT } from "../scripts/simulator/index.ts";
import { runNode } from "./lib/children.ts";
import { round, type Summary, summarize } from "./lib/stats.ts";
import { SECRET_ID, WARM_CHATS, type World } from "./lib/world.ts";

/**
 * Warm overhead: one child per handler, invoked directly N times back to back with a bare fetch of the
 * same method (the floor); Secrets Manager calls are counted by the stand-in between the end of the
 * warm-up and the end of the run. The simulator's rate limit is off here.
 */
export interface WarmVariant {
  name: string;
  label: string;
  file: string;
  iterations: number;
  env?: Record<string, string>;
}

export interface WarmStats {
  name: string;
  label: string;
  iterations: number;
  /** The bare fetch, ms. */
  floor: Summary;
  /** The handler invocation, ms. */
  handler: Summary;
  /** Per iteration: handler − bare fetch, ms. */
  overhead: Summary;
  /** p50(handler) − p50(floor), ms. */
  overheadOfMedians: number;
  secretsManagerCallsPer1000: number;
}

export async function measureWarm(
  world: World,
  harness: string,
  variant: WarmVariant,
  warmup: number,
): Promise<WarmStats> {
  let callsAtStart = 0;
  let done: { floor: number[]; handler: number[] } | undefined;
  const calls = () => world.secrets.calls.get(SECRET_ID) ?? 0;
  const run = await runNode(harness, {
    args: [],
    env: world.childEnv({
      ...variant.env,
      BUNDLE: variant.file,
      WEBHOOK_URL: world.webhookUrl,
      CLIENT_ID: DEMO_BOT.clientId,
      ITERATIONS: String(variant.iterations),
      WARMUP: String(warmup),
      CHAT_FIRST: String(WARM_CHATS.first),
      CHAT_COUNT: String(WARM_CHATS.count),
    }),
    ipc: true,
    timeoutMs: 180_000,
    onMessage(message, child: ChildProcess) {
      const typed = message as { type: string; floor?: number[]; handler?: number[] };
      if (typed.type === "ready") {
        callsAtStart = calls();
        child.send({ type: "go" });
      } else if (typed.type === "done") {
        done = { floor: typed.floor ?? [], handler: typed.handler ?? [] };
      }
    },
  });
  const callsDuring = calls() - callsAtStart;
  if (!done || run.code !== 0) {
    throw new Error(`warm run of ${variant.name} failed (exit ${run.code}): ${run.stderr.slice(-2000)}`);
  }
  const { floor, handler } = done;
  const overhead = handler.map((ms, index) => ms - (floor[index] ?? Number.NaN));
  const floorSummary = summarize(floor);
  const handlerSummary = summarize(handler);
  return {
    name: variant.name,
    label: variant.label,
    iterations: handler.length,
    floor: floorSummary,
    handler: handlerSummary,
    overhead: summarize(overhead),
    overheadOfMedians: round(handlerSummary.p50 - floorSummary.p50),
    secretsManagerCallsPer1000: round((callsDuring / Math.max(1, handler.length)) * 1000, 2),
  };
}
