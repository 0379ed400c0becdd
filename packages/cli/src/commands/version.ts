import { Command, Option } from 'commander';
import { buildInfo, type BuildInfo } from '../build-info.js';

export function formatVersion(info: BuildInfo, output: 'text' | 'json'): string {
  if (output === 'json') return `${JSON.stringify(info)}\n`;
  return `backrest-sidecar ${info.version}\ncommit: ${info.commit}\nbuilt: ${info.date}\n`;
}

/** `version`: version, commit and build date (stamped by the bundler); touches nothing else. */
export function register(program: Command, version: string): void {
  program.addCommand(
    new Command('version')
      .description('print the version, the git commit and the build date')
      .addOption(
        new Option('-o, --output <format>', 'output format')
          .choices(['text', 'json'])
          .default('text'),
      )
      .action((opts: { output: 'text' | 'json' }) => {
        process.stdout.write(formatVersion(buildInfo(version), opts.output));
      }),
  );
}
