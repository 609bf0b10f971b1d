import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { afterAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../infra/bundling.ts";

/** `npm start` as a newcomer runs it: its printed curl must work and Ctrl-C must stop it cleanly. */
let child: ChildProcess | undefined;
let output = "";

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  output = "";
  child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts", ...args], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      PORT: "0",
      SKIP_BUILD: "true",
      B24_WEBHOOK_URL: "",
      POWERTOOLS_LOG_LEVEL: "INFO",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return child;
}

async function waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const match = output.match(pattern);
    if (match) return match;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${pattern}; output so far:\n${output}`);
}

afterAll(() => {
  child?.kill("SIGKILL");
});

describe("npm start", () => {
  it("serves the bundle on the simulator, prints a curl that transfers, and stops on Ctrl-C", async () => {
    child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        PORT: "0",
        SKIP_BUILD: "true",
        B24_WEBHOOK_URL: "",
        POWERTOOLS_LOG_LEVEL: "INFO",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));

    const [, url, payload] = await waitFor(
      /curl -sS -X POST (\S+) -H 'content-type: application\/json' -d '([^']+)'/,
    );
    const response = await fetch(url as string, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: payload,
    });
    expect(response.status, output).toBe(200);
    expect(await response.json()).toMatchObject({
      transferred: true,
      chatId: 112,
      target: { operatorId: 12 },
    });
    const [, ledger] = await waitFor(/^ledger: (\{.*\})$/m);
    expect(JSON.parse(ledger as string)).toMatchObject({ chatId: 112, to: { userId: 12 } });

    const bad = await fetch(url as string, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toBe("application/problem+json");

    // Latin-1 "café", as the newcomer sent it: refused, nothing written into the chat.
    const ledgerBefore = output.match(/^ledger:/gm)?.length;
    const latin1 = await fetch(url as string, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Buffer.from('{"chatId":112,"operatorId":12,"message":"caf\xe9"}', "latin1"),
    });
    expect(latin1.status).toBe(400);
    expect(await latin1.json()).toMatchObject({ code: "INVALID_JSON" });
    expect(output.match(/^ledger:/gm)?.length).toBe(ledgerBefore);

    const keyed = () =>
      fetch(url as string, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": "local-run-1" },
        body: JSON.stringify({ chatId: 113, queueId: 3 }),
      });
    expect((await keyed()).status).toBe(200);
    const replay = await keyed();
    expect(replay.status).toBe(200);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");

    child.kill("SIGINT");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
    expect(output).toContain("stopped");
  });

  it("refuses a PORT that is not a port number with one clear line, no stack trace", async () => {
    const started = start([], { PORT: "abc" });
    const [code] = await once(started, "exit");
    expect(code).toBe(2);
    expect(output.trim()).toBe(
      'npm start: PORT must be a port number from 0 to 65535 (0: any free one), not "abc"',
    );
  });

  it("--token-auth runs the real authorizer with a printed test token: 401 without it, 403 with another", async () => {
    const started = start(["--token-auth"]);
    const [, token] = await waitFor(/client "local-client" has the test token\n {2}(b24t_[A-Za-z0-9_-]+)\n/);
    const [, url, header, payload] = await waitFor(
      /curl -sS -X POST (\S+) -H '(authorization: Bearer [^']+)' -H 'content-type: application\/json' -d '([^']+)'/,
    );
    expect(header).toBe(`authorization: Bearer ${token}`);
    const post = (headers: Record<string, string>) =>
      fetch(url as string, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: payload,
      });
    const missing = await post({});
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ message: "Unauthorized" });
    const wrong = await post({ authorization: "Bearer b24t_not-the-token" });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual({ message: "Forbidden" });
    expect(output).not.toMatch(/^ledger:/m);

    const allowed = await post({ authorization: `Bearer ${token}` });
    expect(allowed.status, output).toBe(200);
    await waitFor(/^ledger: .*"chatId":112/m);
    // The transfer function saw the client the authorizer named, as behind API Gateway.
    expect(output).toContain('"client":"local-client"');

    started.kill("SIGINT");
    const [code] = await once(started, "exit");
    expect(code).toBe(0);
  });
});
