// What `--plugin` loads: the webhook URL comes from the operator's environment, never from labels.
import { healthHookPlugin } from './health-hook.js';

export * from './health-hook.js';
export default healthHookPlugin(process.env.HEALTHHOOK_URL);
