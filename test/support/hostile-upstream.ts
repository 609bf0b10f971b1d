import { createServer, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback HTTP server that answers every request with whatever the test decides: a stand-in for a
 * hostile or broken Bitrix24 (or a proxy before it). It records what it was sent.
 */
export interface HostileUpstream {
  url: string;
  requests: { method: string; url: string; body: string; headers: IncomingHttpHeaders }[];
  answer(respond: (request: { url: string; body: string }) => { status: number; body: string }): void;
  close(): Promise<void>;
}

export async function startHostileUpstream(): Promise<HostileUpstream> {
  let respond = (_: { url: string; body: string }) => ({ status: 500, body: "" });
  const requests: { method: string; url: string; body: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request = { url: req.url ?? "/", body: Buffer.concat(chunks).toString("utf8") };
    requests.push({ method: req.method ?? "", headers: req.headers, ...request });
    const { status, body } = respond(request);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    answer(next) {
      respond = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
