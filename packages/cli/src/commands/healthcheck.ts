/**
 * `healthcheck` (Traefik's `traefik healthcheck`): asks a running daemon's `/healthz` and exits
 * 0 when it answers 200, 1 otherwise, so a container HEALTHCHECK or a compose/swarm healthcheck
 * needs no curl or wget in the image.
 */
import { Command, Option } from 'commander';
import { fatal } from '../exit.js';
import { addLogOptions, parseDuration } from '../options.js';
import { parseHttpAddr } from './daemon.js';

export const HEALTHCHECK_DEFAULT_ADDR = '127.0.0.1:9464';

export interface HealthcheckOptions {
  httpAddr: string;
  path: string;
  /** ms. */
  timeout: number;
}

/** The URL the check asks: a wildcard listen address is reached on the loopback. */
export function healthcheckUrl(opts: Pick<HealthcheckOptions, 'httpAddr' | 'path'>): string {
  const { host, port } = parseHttpAddr(opts.httpAddr);
  const reach = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const h = reach.includes(':') ? `[${reach}]` : reach;
  return `http://${h}:${port}${opts.path.startsWith('/') ? opts.path : `/${opts.path}`}`;
}

export async function runHealthcheck(opts: HealthcheckOptions): Promise<number> {
  const url = healthcheckUrl(opts);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(opts.timeout) });
  } catch (err) {
    const why =
      err instanceof Error
        ? err.cause instanceof Error
          ? err.cause.message
          : err.message
        : String(err);
    return fatal(new Error(`healthcheck ${url}: ${why}`));
  }
  const body = (await res.text().catch(() => '')).trim().slice(0, 500);
  if (res.status !== 200) {
    return fatal(new Error(`healthcheck ${url}: HTTP ${res.status}${body ? `: ${body}` : ''}`));
  }
  process.stdout.write(`OK: ${url}\n`);
  return 0;
}

export function healthcheckCommand(): Command {
  const cmd = new Command('healthcheck')
    .description("check a running daemon's /healthz (exit 0 healthy, 1 not): for HEALTHCHECK")
    .addOption(
      new Option('--http-addr <host:port>', "the daemon's --http-addr").default(
        HEALTHCHECK_DEFAULT_ADDR,
      ),
    )
    .option('--path <path>', 'the endpoint (/healthz liveness, /readyz readiness)', '/healthz')
    .addOption(
      new Option('--timeout <duration>', 'give up after')
        .argParser(parseDuration)
        .default(3000, '3s'),
    )
    .addHelpText(
      'after',
      `
Examples:
  backrest-sidecar healthcheck
  backrest-sidecar healthcheck --http-addr 0.0.0.0:9464 --path /readyz`,
    );
  return addLogOptions(cmd).action(async (opts: HealthcheckOptions) => {
    process.exitCode = await runHealthcheck(opts).catch(fatal);
  });
}

export function register(program: Command): void {
  program.addCommand(healthcheckCommand());
}
