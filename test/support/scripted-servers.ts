import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Raw HTTP servers on loopback that answer each request with a script the test sets, and record every
 * request that reached them: the tests of the Bitrix24 client count sends, so the record is the point.
 */
export type Answer = (res: ServerResponse, req: IncomingMessage, body: string) => void;

export interface Received {
  server: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export function scriptedServers() {
  const servers: Server[] = [];
  const received: Received[] = [];
  const scripts: Record<string, Answer> = {};
  return {
    received,
    /** The answer each named server gives to its next request; set by the test. */
    scripts,
    /** Starts a server called `name` and returns its base URL (`http://127.0.0.1:<port>`). */
    async start(name: string): Promise<string> {
      const server = createServer(async (req, res) => {
        // Whole before decoding: a multi-byte character may straddle two chunks.
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const body = Buffer.concat(chunks).toString("utf8");
        received.push({
          server: name,
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body,
        });
        scripts[name]?.(res, req, body);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      servers.push(server);
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    /** How many requests reached the server called `name`. */
    sentTimes: (name: string) => received.filter((entry) => entry.server === name).length,
    async close(): Promise<void> {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
}

export const json = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) => res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
