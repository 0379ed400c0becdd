/** Extension point: code that runs when the manager starts (after sources synced) and stops. */
export const LifecycleHook = Symbol.for('dockop.LifecycleHook');

export interface LifecycleHook {
  readonly name: string;
  onStart?(signal: AbortSignal): Promise<void> | void;
  /** Runs after controllers drained; should finish quickly. */
  onStop?(): Promise<void> | void;
}

/** Extension point: a named check that `/healthz` (liveness) or `/readyz` (readiness) runs. */
export const HealthCheck = Symbol.for('dockop.HealthCheck');

export interface HealthCheck {
  readonly name: string;
  readonly kind: 'liveness' | 'readiness';
  /** Throw or return false when unhealthy; a string return is reported as detail. */
  check(): Promise<boolean | string> | boolean | string;
}
