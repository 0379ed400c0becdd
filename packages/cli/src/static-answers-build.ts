/**
 * Build side of static-answers.cts: which command lines get a stored answer, and the program's
 * own output for each. The bundler (scripts/bundle.mjs) runs it on the compiled program; the
 * cli-startup spec checks every stored answer against what the bundle prints without them.
 */
import { CommanderError, type Command } from 'commander';
import { walk } from './commands/completion.js';
import type { StaticAnswers } from './static-answers.cjs';

/** The command lines answered at build time: help of every command, version, completion. */
export function staticAnswerVectors(program: Command): string[][] {
  const vectors: string[][] = [];
  const paths = walk(program).map((n) => (n.path ? n.path.split(' ') : []));
  for (const p of paths) vectors.push([...p, '--help'], [...p, '-h']);
  vectors.push(['help']);
  for (const p of paths) if (p.length === 1) vectors.push(['help', ...p]);
  vectors.push(['--version'], ['-V'], ['version']);
  for (const flag of ['-o', '--output']) {
    for (const format of ['text', 'json']) vectors.push(['version', flag, format]);
  }
  const completion = program.commands.find((c) => c.name() === 'completion');
  for (const shell of completion?.registeredArguments[0]?.argChoices ?? []) {
    vectors.push(['completion', shell]);
  }
  return vectors;
}

/**
 * Runs each vector through a fresh program in this process and keeps what it writes to stdout.
 * A vector that exits non-zero or writes to stderr fails the build: it has no static answer.
 */
export async function renderStaticAnswers(
  buildProgram: () => Command,
  bundleBytes: number,
): Promise<StaticAnswers> {
  const texts: string[] = [];
  const answers: Record<string, number> = {};
  const write = { out: process.stdout.write, err: process.stderr.write };
  for (const argv of staticAnswerVectors(buildProgram())) {
    let out = '';
    let err = '';
    process.stdout.write = ((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    }) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      err += String(chunk);
      return true;
    }) as typeof process.stderr.write;
    let code = 0;
    try {
      await buildProgram().parseAsync(['node', 'backrest-sidecar', ...argv]);
    } catch (e) {
      code = e instanceof CommanderError ? e.exitCode : 1;
      if (!(e instanceof CommanderError)) err += String(e);
    } finally {
      process.stdout.write = write.out;
      process.stderr.write = write.err;
    }
    if (code !== 0 || err !== '' || out === '') {
      throw new Error(
        `static answer for \`${argv.join(' ')}\`: exit ${code}, stderr ${JSON.stringify(err.slice(0, 300))}`,
      );
    }
    let index = texts.indexOf(out);
    if (index < 0) index = texts.push(out) - 1;
    answers[argv.join(' ')] = index;
  }
  return { bundleBytes, texts, answers };
}
