/**
 * Answers the bin gives without loading the program: the help of every command, `version`,
 * `--version` and `completion <shell>`. Their output depends on nothing but the build (help is
 * formatted at a fixed width, program.ts; no environment value appears in it), so the bundler
 * prints each once at build time (static-answers-build.ts) and the bin writes the stored text.
 * Reading the 1.4 MB bundle and evaluating its modules is most of what `--help` cost over bare
 * Node; an operator's `source <(backrest-sidecar completion bash)` pays it at every shell start.
 *
 * Anything else, or an answers file that does not belong to the bundle next to it (another
 * build's), goes to the program as before. `BACKREST_SIDECAR_STATIC_ANSWERS=0` turns it off (the
 * build and the spec that compares both paths use it).
 */
import { readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';

/** The file the bundler writes next to the bundle. */
export const STATIC_ANSWERS_FILE = 'static-answers.json';

export interface StaticAnswers {
  /** Byte length of the bundle these answers were printed by: a rebuilt bundle voids them. */
  readonly bundleBytes: number;
  /** What the answered command lines write to stdout (each exits 0), each text once. */
  readonly texts: readonly string[];
  /** Command line (arguments joined by one space) → index of its text. */
  readonly answers: Readonly<Record<string, number>>;
}

/** Words that may appear in an answerable command line (command names, flags, shells). */
const WORD = /^-{0,2}[A-Za-z][A-Za-z-]{0,39}$/;
/** One of these makes a command line worth a look; any other goes straight to the program. */
const TRIGGERS = new Set(['--help', '-h', 'help', 'version', '--version', '-V', 'completion']);

/** The key of `argv` in the answers, or undefined when no stored answer can match it (no I/O). */
export function answerKey(argv: readonly string[]): string | undefined {
  if (argv.length === 0 || argv.length > 4) return undefined;
  let trigger = false;
  for (const a of argv) {
    if (!WORD.test(a)) return undefined;
    if (TRIGGERS.has(a)) trigger = true;
  }
  return trigger ? argv.join(' ') : undefined;
}

/** The stored answer for `argv`, if the answers file in `dist` belongs to `bundle`. */
export function lookup(
  dist: string,
  bundle: string,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const key = answerKey(argv);
  if (key === undefined || env['BACKREST_SIDECAR_STATIC_ANSWERS'] === '0') return undefined;
  try {
    const answers = JSON.parse(
      readFileSync(path.join(dist, STATIC_ANSWERS_FILE), 'utf8'),
    ) as StaticAnswers;
    if (answers.bundleBytes !== statSync(bundle).size) return undefined;
    const index = Object.hasOwn(answers.answers, key) ? answers.answers[key] : undefined;
    return index === undefined ? undefined : answers.texts[index];
  } catch {
    // No answers (a build without them) or an unreadable file: the program answers.
    return undefined;
  }
}

/**
 * Writes `text` to stdout and reports whether the bin is done. Synchronous (no stream set-up);
 * a reader that went away (`--help | head -1`) ends it quietly, as main.ts does; a non-blocking
 * pipe that is full hands the rest to process.stdout.
 */
export function writeAnswer(text: string, fd = 1): void {
  const bytes = Buffer.from(text, 'utf8');
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') return;
    if (code !== 'EAGAIN') throw err;
    process.stdout.write(bytes.subarray(done));
  }
}

/** Answers `argv` from the stored answers when it can; false: run the program. */
export function answerStatically(
  dist: string,
  bundle: string,
  argv: readonly string[] = process.argv.slice(2),
): boolean {
  const text = lookup(dist, bundle, argv);
  if (text === undefined) return false;
  writeAnswer(text);
  return true;
}
