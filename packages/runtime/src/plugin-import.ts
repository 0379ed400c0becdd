import { ContainerModule } from 'inversify';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

/**
 * Imports a plugin: a path (relative to the working directory) or a package name; a failure
 * names the plugin.
 */
export async function importPlugin(specifier: string): Promise<Record<string, unknown>> {
  const isPath =
    specifier.startsWith('.') || specifier.startsWith('/') || path.isAbsolute(specifier);
  try {
    return isPath
      ? ((await import(pathToFileURL(path.resolve(specifier)).href)) as Record<string, unknown>)
      : await importPackage(specifier);
  } catch (err) {
    throw new Error(
      `plugin "${specifier}" could not be imported: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/** The plugin module's default export, which must be an inversify ContainerModule. */
export function pluginContainerModule(
  specifier: string,
  mod: Readonly<Record<string, unknown>>,
): ContainerModule {
  const candidate = mod['default'];
  if (!isContainerModule(candidate)) {
    const got =
      candidate === undefined
        ? 'no default export'
        : `a default export of type ${typeof candidate}`;
    throw new Error(
      `plugin "${specifier}" must default-export an inversify ContainerModule (new ContainerModule(...)), but has ${got}`,
    );
  }
  return candidate;
}

/** A ContainerModule, also one built by another copy of inversify (duck-typed). */
function isContainerModule(v: unknown): v is ContainerModule {
  return (
    v instanceof ContainerModule ||
    (typeof v === 'object' &&
      v !== null &&
      typeof (v as ContainerModule).load === 'function' &&
      typeof (v as ContainerModule).id === 'number')
  );
}

/**
 * A package as the runtime resolves it, else as the working directory resolves it (a plugin
 * installed next to the user's config rather than next to dockop).
 */
async function importPackage(specifier: string): Promise<Record<string, unknown>> {
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    let resolved: string;
    try {
      resolved = createRequire(path.join(process.cwd(), 'noop.js')).resolve(specifier);
    } catch {
      throw err;
    }
    return (await import(pathToFileURL(resolved).href)) as Record<string, unknown>;
  }
}
