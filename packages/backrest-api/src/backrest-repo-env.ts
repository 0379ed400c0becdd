/**
 * restic's environment for a repository Backrest knows: the repo entry of Backrest's own config
 * (`repos[] {id, uri, password, env[]}`, its native format), so `get workloads` can count the
 * snapshots Backrest made without a separate env file. The file is hostile input: own properties
 * only, and no value ever appears in an error.
 */
import { readFile } from 'node:fs/promises';

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `RESTIC_REPOSITORY` (the repo's `uri`), `RESTIC_PASSWORD` (its `password`) and its `env`
 * entries (`KEY=VALUE`) for repo `repoId` (default: the config's only, or first, repo).
 */
export async function repoEnvFromBackrestConfig(
  file: string,
  repoId?: string,
): Promise<{ id: string; env: Record<string, string> }> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot read Backrest config ${file}: ${e.code ?? 'invalid JSON'}`, {
      cause: err,
    });
  }
  const repos = isObj(raw) && Object.hasOwn(raw, 'repos') ? raw.repos : undefined;
  const list = Array.isArray(repos) ? repos.filter(isObj) : [];
  const idOf = (r: Record<string, unknown>) =>
    Object.hasOwn(r, 'id') && typeof r.id === 'string' ? r.id : '';
  const repo = repoId === undefined ? list[0] : list.find((r) => idOf(r) === repoId);
  if (!repo) {
    const known = list.map(idOf).filter(Boolean).join(', ') || 'none';
    throw new Error(
      repoId === undefined
        ? `Backrest config ${file} has no repo`
        : `Backrest config ${file} has no repo "${repoId}" (known: ${known})`,
    );
  }
  const id = idOf(repo);
  const str = (k: string) =>
    Object.hasOwn(repo, k) && typeof repo[k] === 'string' ? repo[k] : undefined;
  const uri = str('uri');
  if (!uri) {
    throw new Error(
      `Backrest config ${file} repo "${id}" has no uri (the seed's format keeps no credentials; use --rcb-env-file)`,
    );
  }
  const env: Record<string, string> = Object.create(null) as Record<string, string>;
  const extra = Object.hasOwn(repo, 'env') && Array.isArray(repo.env) ? repo.env : [];
  for (const [i, e] of extra.entries()) {
    if (typeof e !== 'string') continue;
    const eq = e.indexOf('=');
    const key = eq < 0 ? '' : e.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new Error(`Backrest config ${file} repo "${id}" env[${i}] is not KEY=VALUE`);
    }
    env[key] = e.slice(eq + 1);
  }
  env.RESTIC_REPOSITORY = uri;
  const password = str('password');
  if (password !== undefined) env.RESTIC_PASSWORD = password;
  return { id, env };
}
