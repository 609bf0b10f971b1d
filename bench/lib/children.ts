import { type ChildProcess, spawn } from "node:child_process";

/**
 * Child processes with a hard time limit each. Every child this benchmark starts is tracked so that a
 * timeout, an error or Ctrl-C kills exactly those processes (by pid) and nothing else.
 */
const live = new Set<ChildProcess>();

export function killAllChildren(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  live.clear();
}

/** The Node binary children run on unless a run names another (bench/lib/nodes.ts). */
let childNode = process.execPath;
export function setChildNode(path: string): void {
  childNode = path;
}

export interface RunOptions {
  args: string[];
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Node flags placed before the script. */
  nodeFlags?: string[];
  ipc?: boolean;
  /** A Node binary other than the children's default. */
  node?: string;
  onMessage?: (message: unknown, child: ChildProcess) => void;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Parent-side wall time from spawn() to the 'exit' event, in ms. */
  wallMs: number;
  /** Parent-side time from spawn() until the child printed its result line, in ms (NaN if never). */
  resultAtMs: number;
}

export const RESULT_MARK = "@@bench ";

export function runNode(script: string, options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let resultAtMs = Number.NaN;
    const child = spawn(options.node ?? childNode, [...(options.nodeFlags ?? []), script, ...options.args], {
      env: options.env,
      stdio: options.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
    });
    live.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      // Handler log lines are drained; only a tail is kept, and the result line is the last one written.
      stdout += chunk;
      if (stdout.length > 256 * 1024) stdout = stdout.slice(-128 * 1024);
      if (Number.isNaN(resultAtMs) && stdout.includes(RESULT_MARK)) resultAtMs = performance.now() - started;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      if (stderr.length < 64 * 1024) stderr += chunk;
    });
    if (options.onMessage) child.on("message", (message) => options.onMessage?.(message, child));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`${script} ${options.args.join(" ")} took over ${options.timeoutMs} ms and was killed`),
      );
    }, options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      live.delete(child);
      reject(error);
    });
    child.on("exit", (code, signal) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      live.delete(child);
      // 'exit' can come before the pipes are drained; wait for them to close.
      let open = (child.stdout ? 1 : 0) + (child.stderr ? 1 : 0);
      const done = () => resolve({ code, signal, stdout, stderr, wallMs, resultAtMs });
      if (open === 0) return done();
      for (const stream of [child.stdout, child.stderr]) {
        if (!stream) continue;
        if (stream.readableEnded || stream.destroyed) {
          if (--open === 0) done();
        } else {
          stream.once("close", () => {
            if (--open === 0) done();
          });
        }
      }
    });
  });
}

/** The JSON after the result mark on the child's stdout. */
export function parseResult<T>(run: RunResult, what: string): T {
  const line = run.stdout.split("\n").find((candidate) => candidate.startsWith(RESULT_MARK));
  if (!line) {
    throw new Error(
      `${what}: no result (exit ${run.code ?? run.signal}); stderr: ${run.stderr.slice(-2000) || "(empty)"}; stdout: ${run.stdout.slice(-1000)}`,
    );
  }
  return JSON.parse(line.slice(RESULT_MARK.length)) as T;
}
