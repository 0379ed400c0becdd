// Every backrest-sidecar command shown in the docs (README, docs/, package READMEs) and every
// sidecar `command:` in deploy/*.yaml must at least parse: the subcommand exists and accepts the
// flags, choices and values used. Parsed by the real program with every action replaced.
import { expect } from 'chai';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { buildProgram } from './program.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = /^(?:npx\s+|sudo\s+)?(?:\S*\/)?backrest-sidecar(?:\.js)?$/;

function markdownFiles(): string[] {
  const files = ['README.md'];
  for (const dir of ['docs', 'docs/adr', 'deploy']) {
    for (const f of readdirSync(path.join(ROOT, dir))) {
      if (f.endsWith('.md')) files.push(`${dir}/${f}`);
    }
  }
  for (const group of ['packages', 'controllers', 'examples']) {
    for (const d of readdirSync(path.join(ROOT, group))) {
      if (existsSync(path.join(ROOT, group, d, 'README.md'))) files.push(`${group}/${d}/README.md`);
    }
  }
  return files;
}

/** Shell-ish words of one command line: quotes removed, no expansion. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of line.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

/** The lines of a markdown file's shell code blocks (bash, sh, shell, console fences). */
function shellLines(markdown: string): string[] {
  const out: string[] = [];
  let lang: string | undefined;
  let buf: string[] = [];
  for (const line of markdown.split('\n')) {
    const fence = /^\s*```\s*([\w-]*)/.exec(line);
    if (fence) {
      if (lang === undefined) {
        lang = fence[1] ?? '';
        buf = [];
      } else {
        if (['bash', 'sh', 'shell', 'console'].includes(lang)) out.push(...buf);
        lang = undefined;
      }
    } else if (lang !== undefined) buf.push(line);
  }
  return out
    .join('\n')
    .replace(/\\\n\s*/g, ' ')
    .split('\n');
}

/** `backrest-sidecar ...` invocations in a markdown file's shell code blocks. */
export function commandsIn(markdown: string): string[][] {
  const found: string[][] = [];
  for (const raw of shellLines(markdown)) {
    const line = raw.replace(/^\s*\$\s+/, '').replace(/\s#\s.*$/, '');
    // One invocation per pipeline stage, `&&`/`;` part or process substitution.
    for (const part of line.split(/\|\||&&|[|;]|<\(|\$\(|\)/)) {
      const w = words(part.trim());
      while (w.length && /^[A-Z_][A-Z0-9_]*=/.test(w[0]!)) w.shift(); // env assignments
      if (w[0] === 'node' && w[1]?.endsWith('backrest-sidecar.js')) w.shift();
      if (w[0] === 'npx' || w[0] === 'sudo') w.shift();
      const strip = (a: string[]): string[] => a.filter((x) => !/^\d?>/.test(x));
      if (w.length && BIN.test(w[0]!)) {
        found.push(strip(w.slice(1)));
      } else if (w[0] === 'docker') {
        // `docker compose ... exec sidecar backrest-sidecar ...`, `docker exec c backrest-sidecar`
        const exec = w.indexOf('exec');
        const at = w.findIndex((x, i) => exec > 0 && i > exec + 1 && x === 'backrest-sidecar');
        // `docker run ... <image backrest-sidecar:tag> args` (the image's entry point)
        const image = w.findIndex(
          (x) => w[1] === 'run' && /(^|\/)backrest-sidecar:[\w.-]+$/.test(x),
        );
        if (at > 0) found.push(strip(w.slice(at + 1)));
        else if (image > 0) found.push(strip(w.slice(image + 1)));
      }
    }
  }
  return found;
}

/** The program with no action and no output: parsing is all that happens. */
function parsingOnly(): Command {
  const program = buildProgram();
  const quiet = (c: Command): void => {
    c.exitOverride().configureOutput({
      writeOut: () => undefined,
      writeErr: () => undefined,
      outputError: () => undefined,
    });
    if (c.commands.length === 0 || c.name() === 'reconcile') c.action(() => undefined);
    c.commands.forEach(quiet);
  };
  quiet(program);
  return program;
}

async function problemOf(args: string[]): Promise<string | undefined> {
  try {
    await parsingOnly().parseAsync(args, { from: 'user' });
    return undefined;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return undefined;
    return e.message ?? String(err);
  }
}

describe('commands shown in the docs', () => {
  it('finds the commands of a markdown file (the extractor can fail)', () => {
    const md = [
      '```',
      'backrest-sidecar is a diagram',
      '```',
      '```bash',
      'BACKREST_CONFIG=x npx backrest-sidecar --dry-run | jq .',
      'source <(backrest-sidecar completion bash)',
      'docker run --rm --name backrest-sidecar -v /a:/b backrest-sidecar:dev get plans \\',
      '  -o wide',
      '```',
    ].join('\n');
    expect(commandsIn(md)).to.deep.equal([
      ['--dry-run'],
      ['completion', 'bash'],
      ['get', 'plans', '-o', 'wide'],
    ]);
  });

  it('a wrong flag is caught', async () => {
    expect(await problemOf(['get', 'plans', '--apply'])).to.match(/unknown option/);
    expect(await problemOf(['deamon'])).to.match(/unknown command/);
    expect(await problemOf(['daemon', '--interval', '2w'])).to.match(/not a duration/);
  });

  it('every backrest-sidecar command in README.md, docs/ and the package READMEs parses', async () => {
    const problems: string[] = [];
    let count = 0;
    for (const file of markdownFiles()) {
      for (const args of commandsIn(readFileSync(path.join(ROOT, file), 'utf8'))) {
        count++;
        const problem = await problemOf(args);
        if (problem) problems.push(`${file}: backrest-sidecar ${args.join(' ')}: ${problem}`);
      }
    }
    expect(problems).to.deep.equal([]);
    expect(count, 'commands found').to.be.greaterThan(10);
  });

  it("every sidecar service's command in deploy/*.yaml parses", async () => {
    const problems: string[] = [];
    let count = 0;
    const deploy = path.join(ROOT, 'deploy');
    for (const f of readdirSync(deploy).filter((x) => /\.ya?ml$/.test(x))) {
      const doc = parseYaml(readFileSync(path.join(deploy, f), 'utf8')) as {
        services?: Record<
          string,
          { image?: string; command?: unknown; healthcheck?: { test?: unknown } }
        >;
      };
      for (const [name, svc] of Object.entries(doc.services ?? {})) {
        if (!String(svc.image ?? '').includes('backrest-sidecar')) continue;
        const lists: string[][] = [];
        if (Array.isArray(svc.command)) lists.push(svc.command.map(String));
        const test = svc.healthcheck?.test;
        if (Array.isArray(test) && test[1] === 'backrest-sidecar')
          lists.push(test.slice(2).map(String));
        for (const args of lists) {
          count++;
          const problem = await problemOf(args.map((a) => a.replace(/\$\{[^}]+\}/g, 'x')));
          if (problem) problems.push(`deploy/${f} ${name}: ${args.join(' ')}: ${problem}`);
        }
      }
    }
    expect(problems).to.deep.equal([]);
    expect(count).to.be.greaterThan(2);
  });
});
