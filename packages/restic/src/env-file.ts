import { readFile } from 'node:fs/promises';

/**
 * Parses Docker's `--env-file` format, the one restic-compose-backup's `rcb.env` uses: one
 * `KEY=VALUE` per line, `#` comments and blank lines ignored, no quoting (the value is everything
 * after the first `=`, kept verbatim), and a bare `KEY` takes its value from `processEnv` (dropped
 * when unset there). Invariant: never echoes a value in an error message.
 */
export function parseEnvFile(
  text: string,
  source = 'env file',
  processEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  // Null prototype: a variable named like an Object.prototype member is just a variable.
  const env = Object.create(null) as Record<string, string>;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) {
      // The key only: the line may hold a secret.
      throw new Error(`${source}:${i + 1}: invalid variable name "${key.slice(0, 40)}"`);
    }
    if (eq < 0) {
      // Own properties only: a key planted on Object.prototype is not "set in the environment".
      const inherited = Object.hasOwn(processEnv, key) ? processEnv[key] : undefined;
      if (inherited !== undefined) env[key] = inherited;
    } else {
      env[key] = line.slice(eq + 1);
    }
  }
  return env;
}

export async function readEnvFile(
  path: string,
  processEnv: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read env file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      {
        cause: err,
      },
    );
  }
  return parseEnvFile(text, path, processEnv);
}
