import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { formatHealthReport, type HealthService } from './health.js';
import type { Logger } from './logger.js';

export interface HttpServerOptions {
  /** Default 8080. 0 picks a free port (tests). */
  port?: number;
  /** Default `0.0.0.0` (Prometheus scrapes from another container). */
  host?: string;
}

export interface HttpServerDeps {
  health: HealthService;
  registry: Registry;
  logger?: Logger;
}

/** `/healthz` (liveness), `/readyz` (readiness), `/metrics` (Prometheus text). GET and HEAD only. */
export class RuntimeHttpServer {
  readonly #options: Required<HttpServerOptions>;
  readonly #deps: HttpServerDeps;
  #server: Server | undefined;

  constructor(options: HttpServerOptions, deps: HttpServerDeps) {
    this.#options = { port: options.port ?? 8080, host: options.host ?? '0.0.0.0' };
    this.#deps = deps;
  }

  /** The bound address once listening. */
  get address(): { host: string; port: number } | undefined {
    const a = this.#server?.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : undefined;
  }

  async start(): Promise<{ host: string; port: number }> {
    if (this.#server) throw new Error('http server already started');
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#deps.logger?.error('http.error', { url: req.url, error: err });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port, this.#options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = this.address!;
    this.#deps.logger?.info('http.listening', { host: addr.host, port: addr.port });
    return addr;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    switch (url.pathname) {
      case '/healthz':
      case '/livez':
      case '/readyz': {
        const report =
          url.pathname === '/readyz'
            ? await this.#deps.health.readiness()
            : await this.#deps.health.liveness();
        res.writeHead(report.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(req.method === 'HEAD' ? undefined : formatHealthReport(report));
        return;
      }
      case '/metrics': {
        const body = await this.#deps.registry.metrics();
        res.writeHead(200, { 'content-type': this.#deps.registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
    }
  }
}
