import type { AddressInfo } from "node:net";
import { createServer, type Socket, connect as tcpConnect } from "node:net";

/**
 * A loopback TCP hop between the function and a portal that forgets a connection left idle longer than
 * `idleMs` (measured on Date.now(), so a test moves the clock instead of sleeping), the way the network
 * path does while a Lambda sandbox is frozen:
 * - "reset": an AWS NAT gateway (350 s idle), which answers the next packet on a forgotten connection
 *   with a reset;
 * - "close": a server past its keep-alive timeout (Node 5 s, nginx 75 s), which has closed its end, so
 *   the next request on it is read by nobody and the connection ends without an answer.
 * Either way nothing reaches the portal behind it.
 */
export interface ForgetfulProxy {
  url: string;
  /** TCP connections the function opened through the proxy. */
  readonly connections: number;
  /** Connections forgotten and then written to (reset or closed without passing anything on). */
  readonly forgotten: number;
  close(): Promise<void>;
}

export async function startForgetfulProxy(
  target: URL,
  options: { idleMs: number; forget: "reset" | "close" },
): Promise<ForgetfulProxy> {
  let connections = 0;
  let forgotten = 0;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    connections += 1;
    const upstream = tcpConnect(Number(target.port), target.hostname);
    open.add(client).add(upstream);
    let lastActivity = Date.now();
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      if (Date.now() - lastActivity > options.idleMs) {
        forgotten += 1;
        upstream.destroy();
        if (options.forget === "reset") client.resetAndDestroy();
        else client.end();
        return;
      }
      lastActivity = Date.now();
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      lastActivity = Date.now();
      client.write(chunk);
    });
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", () => open.delete(client));
    upstream.on("close", () => open.delete(upstream));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get connections() {
      return connections;
    },
    get forgotten() {
      return forgotten;
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
