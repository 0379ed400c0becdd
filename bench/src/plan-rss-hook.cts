// Preloaded with `node --require` by the benches: prints the process's peak RSS and CPU time on
// exit (stderr), so a bench measures the real CLI process, not a copy of it. CommonJS and
// `--require`, not `--import`: an ES module preload starts Node's ESM loader first, ~5 ms the
// measured process would pay and the user's would not. CPU time (user +
// system, all threads) does not count time the process waited for a core: on a shared machine it
// is the figure that load does not inflate. Minor page faults: each first touch of a 4 KiB page of
// memory, ~17 µs of system time on our 2-core VMs (bench/README.md).
import { writeSync } from 'node:fs';

// Written with fs.writeSync, not process.stderr: a stream's write in an 'exit' listener that finds
// the pipe to the bench full is queued, and the process ends without it (Node 20 and 24 alike:
// 64 KiB of a 1 MiB write arrive; the dry run writes ~700 kB of log lines before this).
process.on('exit', () => {
  const u = process.resourceUsage();
  const text = Buffer.from(
    `\nPEAK_RSS_KB=${u.maxRSS}\nCPU_MS=${Math.round((u.userCPUTime + u.systemCPUTime) / 1000)}\nMINFLT=${u.minorPageFault}\n`,
  );
  // stderr's pipe is non-blocking: a full one says EAGAIN until the bench reads it.
  for (let at = 0; at < text.length;) {
    try {
      at += writeSync(2, text, at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
});
