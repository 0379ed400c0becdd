// Entry point of the bundle (packages/cli/scripts/bundle.mjs): first the shared packages are
// registered for plugins, then the CLI runs. ES modules evaluate in import order.
import './bundled-modules.js';
import './main.js';
