// Preloaded (`node --expose-gc --require`) into the daemon by daemon-idle with HEAP=1: on SIGUSR2
// it runs a full GC and prints the heap that survived it as a JSON log line on stderr (the bench
// reads the daemon's log lines there). RSS alone cannot tell a leak from V8 growing its heap under
// allocation pressure; the heap used after a full GC is what the daemon actually retains.
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const m = process.memoryUsage();
  process.stderr.write(
    `${JSON.stringify({ action: 'bench.heap', gc: gc !== undefined, heap_used: m.heapUsed, heap_total: m.heapTotal, rss: m.rss })}\n`,
  );
});
