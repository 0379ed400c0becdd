import { WorkloadConditions, type WorkloadStatusStore } from '@backrest-sidecar/api';
import type { WorkloadVerifyResult } from './verify-options.js';

/**
 * A drill's result in the workload's status: the `verification` record (time, snapshot, checks,
 * duration) and the `Verified` condition (True `DrillPassed` / False `DrillFailed`), plus the
 * event, so `get workloads` and `describe workload` in another process show it.
 */
export async function recordVerifyResult(
  store: WorkloadStatusStore,
  result: WorkloadVerifyResult,
  message: string,
): Promise<void> {
  store.fileOf(result.workload); // throws for a name that cannot be a status file
  await store.update(result.workload, (s) => {
    s.verification = {
      time: result.time,
      passed: result.passed,
      ...(result.snapshot
        ? { snapshotId: result.snapshot.id, snapshotTime: result.snapshot.time }
        : {}),
      checks: result.checks.map((c) => c.name),
      durationMs: Math.round(result.durationMs),
      message: store.redact(message),
    };
    store.applyCondition(s, {
      type: WorkloadConditions.Verified,
      status: result.passed ? 'True' : 'False',
      reason: result.passed ? 'DrillPassed' : 'DrillFailed',
      message,
    });
    store.applyEvent(
      s,
      result.passed ? 'Normal' : 'Warning',
      result.passed ? 'Verified' : 'VerifyFailed',
      message,
    );
  });
}
