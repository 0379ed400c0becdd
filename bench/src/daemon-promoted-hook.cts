// Preloaded (`node --require`) into the daemon by daemon-idle with PROMOTED=1: on SIGUSR2 it
// starts V8's sampling heap profiler keeping the samples that major GCs collect but not those
// that scavenges collect, so the profile holds what outlived the young generation: garbage that
// was promoted to old space (and what is still alive). On SIGTERM it writes the profile to
// $PROMOTED_OUT before the daemon stops. What old space grows by under churn, by allocation site.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const session = new Session();
session.connect();
let sampling = false;

process.on('SIGUSR2', () => {
  if (sampling) return;
  sampling = true;
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 16_384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  });
  process.stderr.write(`${JSON.stringify({ action: 'bench.promoted.started' })}\n`);
});

// Before the daemon's own handler: an in-process session answers synchronously.
process.prependListener('SIGTERM', () => {
  if (!sampling) return;
  sampling = false;
  session.post('HeapProfiler.stopSampling', (err, result) => {
    const out = process.env['PROMOTED_OUT'];
    if (!err && out) writeFileSync(out, JSON.stringify(result.profile));
  });
});
