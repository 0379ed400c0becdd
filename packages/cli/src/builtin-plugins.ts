/**
 * The built-in controllers, imported statically so a bundle carries them (a computed `import()`
 * would load a second copy of the runtime from node_modules). Each is still loaded through the
 * plugin API (`Manager.loadPluginModule`, the path `--plugin` takes after its `import()`), so a
 * built-in has no access a third-party plugin lacks.
 */
import * as backupController from '@backrest-sidecar/controller-backup';
import * as planController from '@backrest-sidecar/controller-plan';
import * as retentionController from '@backrest-sidecar/controller-retention';

export interface BuiltinPlugin {
  /** The package name, as `--plugin` would name it (used in error messages). */
  readonly specifier: string;
  /** The module's namespace; its default export is the ContainerModule. */
  readonly module: Readonly<Record<string, unknown>>;
}

export const BUILTIN_PLUGINS: readonly BuiltinPlugin[] = [
  { specifier: '@backrest-sidecar/controller-plan', module: planController },
  { specifier: '@backrest-sidecar/controller-retention', module: retentionController },
  { specifier: '@backrest-sidecar/controller-backup', module: backupController },
];

/** The built-in plugin `specifier` (a one-shot command loads only the controllers it runs). */
export function builtinPlugin(specifier: string): BuiltinPlugin {
  const found = BUILTIN_PLUGINS.find((b) => b.specifier === specifier);
  if (!found) throw new Error(`no built-in plugin ${specifier}`);
  return found;
}
