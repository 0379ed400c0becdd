// Parses argv with a real command definition, without running its action, in an environment
// without the env vars that back flags (DOCKER_HOST, RCB_ENV_FILE, BACKREST_*).
import type { Command } from 'commander';

const FLAG_ENV = [
  'DOCKER_HOST',
  'RCB_ENV_FILE',
  'BACKREST_CONFIG',
  'BACKREST_PLAN_ID_PREFIX',
  'BACKREST_VOLUME_PREFIX',
  'BACKREST_DEFAULT_RETENTION',
];

export function parseCommand<T>(cmd: Command, argv: string[]): T {
  const saved = { ...process.env };
  for (const k of FLAG_ENV) delete process.env[k];
  try {
    cmd
      .exitOverride()
      .configureOutput({ writeErr: () => undefined })
      .action(() => undefined)
      .parse(argv, { from: 'user' });
    return cmd.opts() as T;
  } finally {
    process.env = saved;
  }
}
