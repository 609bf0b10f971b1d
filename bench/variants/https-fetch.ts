import { Agent, request } from "node:https";

/**
 * PROPOSAL, measured by the benchmark only: the subset of `fetch` this service uses (POST a small body,
 * read status, headers and text), on node:https with a keep-alive agent. Node 20's global `fetch` loads
 * and initialises undici on first use, which costs a cold start tens of milliseconds before the first
 * byte is sent; node:https is already in memory. Injected with esbuild's `inject`, so the project's code
 * is measured unchanged. Not a general fetch: no redirects (the service sets redirect: "error"), no streams.
 */

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

interface ShimResponse {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  body: { cancel(): Promise<void> } | null;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export function httpsFetch(
  input: string | URL,
  init: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal } = {},
): Promise<ShimResponse> {
  const url = typeof input === "string" ? new URL(input) : input;
  const body = init.body === undefined ? undefined : Buffer.from(init.body, "utf8");
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: init.method ?? "GET",
        agent,
        headers: { ...init.headers, ...(body ? { "content-length": String(body.length) } : {}) },
        signal: init.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const done = new Promise<string>((ok, fail) => {
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => ok(Buffer.concat(chunks).toString("utf8")));
          res.on("error", fail);
        });
        const status = res.statusCode ?? 0;
        resolve({
          status,
          ok: status >= 200 && status < 300,
          headers: {
            get: (name) => {
              const value = res.headers[name.toLowerCase()];
              return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
            },
          },
          body: {
            cancel: async () => {
              res.destroy();
            },
          },
          text: () => done,
          json: async () => JSON.parse(await done),
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export { httpsFetch as fetch };
