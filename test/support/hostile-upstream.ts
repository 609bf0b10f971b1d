import { type Received, scriptedServers } from "./scripted-servers.ts";

/**
 * A loopback HTTP server that answers every request with whatever the test decides: a stand-in for a
 * hostile or broken Bitrix24 (or a proxy before it). It records what it was sent.
 */
export interface HostileUpstream {
  url: string;
  requests: Received[];
  answer(respond: (request: { url: string; body: string }) => { status: number; body: string }): void;
  close(): Promise<void>;
}

export async function startHostileUpstream(): Promise<HostileUpstream> {
  const upstream = scriptedServers();
  let respond = (_: { url: string; body: string }) => ({ status: 500, body: "" });
  upstream.scripts.upstream = (res, req, body) => {
    const answer = respond({ url: req.url ?? "/", body });
    res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
  };
  return {
    url: await upstream.start("upstream"),
    requests: upstream.received,
    answer(next) {
      respond = next;
    },
    close: upstream.close,
  };
}
