// Preloaded with `node --import` by plan-scale.ts: prints the process's peak RSS on exit (stderr),
// so the bench measures the real CLI process, not a copy of it.
process.on('exit', () => {
  process.stderr.write(`\nPEAK_RSS_KB=${process.resourceUsage().maxRSS}\n`);
});
export {};
