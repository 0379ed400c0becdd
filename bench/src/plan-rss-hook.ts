// Preloaded with `node --import` by the benches: prints the process's peak RSS and CPU time on
// exit (stderr), so a bench measures the real CLI process, not a copy of it. CPU time (user +
// system, all threads) does not count time the process waited for a core: on a shared machine it
// is the figure that load does not inflate.
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(
    `\nPEAK_RSS_KB=${u.maxRSS}\nCPU_MS=${Math.round((u.userCPUTime + u.systemCPUTime) / 1000)}\n`,
  );
});
export {};
