import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterEach, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../scripts/local-api.ts";
import { DEMO_BOT } from "../scripts/simulator/index.ts";
import { httpApiEvent } from "./support/events.ts";
import { type ForgetfulProxy, startForgetfulProxy } from "./support/forgetful-proxy.ts";
import { MAIN_SECRET, useBundleHarness } from "./support/harness.ts";

/**
 * Issue 24, item 1: a kept-alive connection that went stale while the sandbox was frozen. The network
 * path forgets an idle connection (a NAT gateway resets it, a server closes it); reusing it used to
 * fail before any byte reached Bitrix24, yet looked like a request that may have run: 502
 * OUTCOME_UNKNOWN, chat not handed over. The deployable bundle talks to the simulator through a
 * forgetful hop; the clock (Date.now, which the function and the hop both read) is moved forward by
 * the idle period instead of sleeping through it.
 */
const h = useBundleHarness();
const SECOND = 1000;
const PATHS = {
  "an AWS NAT gateway (forgets after 350 s, then resets)": { idleMs: 350 * SECOND, forget: "reset" },
  "a Node server (closes after 5 s)": { idleMs: 5 * SECOND, forget: "close" },
  "nginx (closes after 75 s)": { idleMs: 75 * SECOND, forget: "close" },
} as const;
const IDLE_PERIODS = [
  0,
  3 * SECOND,
  4.5 * SECOND,
  6 * SECOND,
  80 * SECOND,
  6 * 60 * SECOND,
  20 * 60 * SECOND,
];

let proxy: ForgetfulProxy | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await proxy?.close();
  proxy = undefined;
});

/** Moves Date.now() forward, as a frozen sandbox finds it on thaw. */
function frozenFor(): (ms: number) => void {
  const realNow = Date.now.bind(Date);
  let offset = 0;
  vi.spyOn(Date, "now").mockImplementation(() => realNow() + offset);
  return (ms) => {
    offset += ms;
  };
}

async function transfer(handler: ReturnType<typeof h.newHandler>, chatId: number) {
  const result = (await handler(
    httpApiEvent({ body: JSON.stringify({ chatId, operatorId: 12 }) }),
    lambdaContext(28_000),
  )) as APIGatewayProxyStructuredResultV2;
  return { status: result.statusCode, body: JSON.parse(result.body ?? "null") };
}

describe.each(Object.entries(PATHS))("through %s", (_name, path) => {
  it.each(IDLE_PERIODS)("a request after %i ms idle is handed over exactly once", async (idleMs) => {
    proxy = await startForgetfulProxy(new URL(h.sim.url), path);
    const webhook = new URL(h.sim.webhookUrl());
    h.secrets.put(
      MAIN_SECRET,
      JSON.stringify({ webhookUrl: `${proxy.url}${webhook.pathname}`, clientId: DEMO_BOT.clientId }),
    );
    const sleep = frozenFor();
    const handler = h.newHandler();

    expect((await transfer(handler, 112)).status).toBe(200);
    sleep(idleMs);
    const second = await transfer(handler, 113);

    expect([second.status, second.body.transferred]).toEqual([200, true]);
    expect(h.sim.ledger.map((record) => record.chatId)).toEqual([112, 113]);
    // The stale connection was never written to; a fresh one is used only when it had to be.
    expect(proxy.forgotten).toBe(0);
    expect(proxy.connections).toBe(idleMs > 4 * SECOND ? 2 : 1);
  });
});
