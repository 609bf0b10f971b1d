import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";

/**
 * HTTPS on loopback without committing a key: a throw-away self-signed certificate made with the openssl
 * CLI at bench time, and a TLS terminator in front of a plain-http loopback server. Children trust the
 * certificate through NODE_EXTRA_CA_CERTS, so every variant (ours, the naive handler, the official SDK,
 * and the AWS SDK talking to the Secrets Manager stand-in) pays a real TLS handshake, as on AWS.
 */
export interface Certificate {
  /** PEM file to pass as NODE_EXTRA_CA_CERTS. */
  certFile: string;
  key: Buffer;
  cert: Buffer;
  dispose(): void;
}

export function makeCertificate(): Certificate {
  const dir = mkdtempSync(join(tmpdir(), "b24-bench-tls-"));
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  // RSA 2048 like the certificates Bitrix24 cloud and AWS endpoints present, so handshakes cost alike.
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: "ignore", timeout: 30_000 },
  );
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  // Also when the run is cut short (time limit, Ctrl-C): process.exit still runs 'exit' listeners.
  process.once("exit", dispose);
  return { certFile, key: readFileSync(keyFile), cert: readFileSync(certFile), dispose };
}

export interface TlsTerminator {
  /** "https://127.0.0.1:<port>" */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Decrypts on 127.0.0.1:<free port> and pipes the clear stream to the http server at `targetPort`. */
export async function startTlsTerminator(
  certificate: Certificate,
  targetPort: number,
): Promise<TlsTerminator> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ key: certificate.key, cert: certificate.cert }, (clear) => {
    const upstream = connect({ port: targetPort, host: "127.0.0.1", noDelay: true });
    // Without this, Nagle's algorithm meets delayed ACKs and stalls each exchange ~40 ms on Linux.
    clear.setNoDelay(true);
    sockets.add(clear);
    sockets.add(upstream);
    const drop = () => {
      clear.destroy();
      upstream.destroy();
      sockets.delete(clear);
      sockets.delete(upstream);
    };
    clear.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    clear.pipe(upstream).pipe(clear);
  });
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
