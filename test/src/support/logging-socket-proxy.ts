// A Docker socket proxy that records what such proxies (and dockerd's debug log) record: every
// request line. Tests point a client at it and look for secrets in what it saw.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RecordedRequest {
  method: string;
  /** Path and query string, as sent. */
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface LoggingSocketProxy {
  /** The proxy's unix socket: give it to a Docker client as `socketPath`. */
  readonly socketPath: string;
  /** Every request received so far, in order. */
  readonly requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

/**
 * Listens on a fresh unix socket in a temp directory and forwards each HTTP request to
 * `upstream` (default `/var/run/docker.sock`), streaming bodies both ways (logs follow and wait
 * stay open as long as the engine keeps them open).
 */
export async function startLoggingSocketProxy(
  upstream = '/var/run/docker.sock',
): Promise<LoggingSocketProxy> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockop-proxy-'));
  const socketPath = path.join(dir, 'docker.sock');
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
    const out = http.request(
      { socketPath: upstream, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    // The client gave up (abort): stop the upstream request too.
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    socketPath,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
