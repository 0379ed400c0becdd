// The report shapes live in the API package (the CLI reads them from there); re-exported so this
// package's API and its internal imports are unchanged.
export type {
  BackupOnceReport,
  WorkloadBackupResult,
  WorkloadBackupStatus,
} from '@backrest-sidecar/api';
