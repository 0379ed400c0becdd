// What `backrest-sidecar run --plugin <this package>` loads: the default export.
import { stopNoticePlugin } from './stop-notice.js';

export * from './stop-notice.js';
export default stopNoticePlugin();
