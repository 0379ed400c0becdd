/**
 * A plugin's `ContainerModule` from its parts: kinds (`defineKind`), controllers
 * (`defineController`) and any other bindings, so a plugin's default export is one call.
 */
import { ContainerModule, type ContainerModuleLoadOptions } from 'inversify';

/** Anything that binds itself: a `ResourceKind`, a `ControllerDefinition`, or a function. */
export type PluginPart =
  | { bind(options: ContainerModuleLoadOptions): void }
  | ((options: ContainerModuleLoadOptions) => void);

/** `export default definePlugin(MyKind, myController)`: what `--plugin` loads. */
export function definePlugin(...parts: PluginPart[]): ContainerModule {
  return new ContainerModule((o) => {
    for (const part of parts) {
      if (typeof part === 'function') part(o);
      else part.bind(o);
    }
  });
}
