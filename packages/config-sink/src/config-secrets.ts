/**
 * The secret values a Backrest (or seed-shape) config holds: repository passwords and repository
 * env values (backend credentials). Registered with the redactor before anything derived from
 * the config (the dry-run diff) is printed, so they are masked wherever they appear, not only
 * where a rule recognises their shape. Never throws: text that does not parse has none.
 */
export function configSecretValues(text: string): string[] {
  // Both fields are object keys: a text naming neither (nor escaping a character, which could
  // spell one) has none, and is not parsed (a first dry run's config: 600 kB of plans, no repo
  // secret).
  if (!text.includes('"password"') && !text.includes('"env"') && !text.includes('\\u')) return [];
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    return [];
  }
  return configDocSecretValues(config);
}

/**
 * configSecretValues of a parsed document: what the text rendered from `config` holds. For a
 * caller that has the document already (the sink, which renders that text): no second parse of a
 * 600 kB config.
 */
export function configDocSecretValues(config: unknown): string[] {
  const out: string[] = [];
  const repos = own(config, 'repos');
  if (!Array.isArray(repos)) return out;
  for (const repo of repos) {
    const password = own(repo, 'password');
    if (typeof password === 'string') out.push(password);
    const env = own(repo, 'env');
    if (Array.isArray(env)) {
      for (const pair of env) {
        if (typeof pair !== 'string') continue;
        const eq = pair.indexOf('=');
        if (eq > 0) out.push(pair.slice(eq + 1));
      }
    } else if (env !== null && typeof env === 'object') {
      for (const v of Object.values(env)) if (typeof v === 'string') out.push(v);
    }
  }
  return out;
}

/** `o[k]` for an own property of a plain object only (the file is hostile input). */
function own(o: unknown, k: string): unknown {
  return o !== null && typeof o === 'object' && Object.hasOwn(o, k)
    ? (o as Record<string, unknown>)[k]
    : undefined;
}
