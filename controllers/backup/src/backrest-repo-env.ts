// Moved to the API package (the retention controller reads Backrest's repo entries too).
export { repoEnvFromBackrestConfig } from '@backrest-sidecar/api';
