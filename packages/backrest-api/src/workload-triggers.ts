/**
 * Hand-offs between the product's controllers, which never import each other: the token is here,
 * in the API package, and `backrestApiModule` binds one `KeyTrigger` instance to it.
 *
 * `BackupCompletedTrigger` fires `BackupWorkload/<name>` for every workload a backup run just
 * finished (snapshot made or failed): retention watches it (`triggers: [trigger]`) to bring the
 * workload to its policy right after its backup.
 */
export const BackupCompletedTrigger = Symbol.for('backrest-sidecar.BackupCompletedTrigger');
