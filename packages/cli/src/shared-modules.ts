/**
 * One copy of the framework for the CLI and its `--plugin`s.
 *
 * The bundled CLI carries its own copy of `@dockop/runtime`, `inversify`, ... A plugin importing
 * those names from node_modules would get second copies: other classes (`instanceof` fails),
 * other inversify metadata. So the bundle entry registers the namespaces it carries, and before
 * the first plugin is imported a module-resolution hook (`node:module` `register`) maps exactly
 * those bare specifiers to the registered namespaces. Unbundled (the tsc output), nothing is
 * registered and node_modules resolution already gives everyone the same copy.
 * See docs/adr/0005-bundled-cli.md.
 */
import { register } from 'node:module';

type Namespace = Readonly<Record<string, unknown>>;

/** Where the namespaces live; a global so the generated shim modules can read them. */
const REGISTRY = Symbol.for('dockop.shared-modules');

type Holder = { [REGISTRY]?: Record<string, Namespace> };

/** The bare specifiers the running program carries, or undefined when it is not a bundle. */
export function sharedModules(): Readonly<Record<string, Namespace>> | undefined {
  return (globalThis as Holder)[REGISTRY];
}

/** Called by the bundle entry, before the CLI runs. */
export function registerSharedModules(modules: Record<string, Namespace>): void {
  (globalThis as Holder)[REGISTRY] = { ...sharedModules(), ...modules };
}

let hooked = false;

/**
 * Installs the resolution hook (once; it runs on a loader thread, so it costs a few ms and is only
 * paid when a plugin is loaded). No-op when nothing was registered.
 */
export function shareModulesWithPlugins(): void {
  const modules = sharedModules();
  if (hooked || !modules) return;
  hooked = true;
  const exportsOf: Record<string, string[]> = {};
  for (const [name, ns] of Object.entries(modules)) exportsOf[name] = Object.keys(ns);
  register(`data:text/javascript,${encodeURIComponent(HOOKS_SOURCE)}`, {
    data: { exportsOf },
  });
}

/**
 * The hook module. `resolve` claims only the registered names; `load` answers with a shim that
 * re-exports the registered namespace's properties under their own names.
 */
const HOOKS_SOURCE = `
const PREFIX = 'dockop-shared:';
let exportsOf = {};
export function initialize(data) { exportsOf = data.exportsOf; }
export async function resolve(specifier, context, next) {
  if (Object.hasOwn(exportsOf, specifier)) {
    return { url: PREFIX + encodeURIComponent(specifier), shortCircuit: true };
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!url.startsWith(PREFIX)) return next(url, context);
  const name = decodeURIComponent(url.slice(PREFIX.length));
  const lines = ['const ns = globalThis[Symbol.for(' + JSON.stringify('dockop.shared-modules') + ')][' + JSON.stringify(name) + '];'];
  exportsOf[name].forEach((key, i) => {
    lines.push('const e' + i + ' = ns[' + JSON.stringify(key) + ']; export { e' + i + ' as ' + JSON.stringify(key) + ' };');
  });
  return { format: 'module', source: lines.join('\\n'), shortCircuit: true };
}
`;
