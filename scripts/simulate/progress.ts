/** A progress bar on stderr: redrawn in place on a terminal, a line every 10 s otherwise. */
export function progressBar(enabled: boolean, label: string) {
  const tty = process.stderr.isTTY;
  const started = performance.now();
  let last = 0;
  return {
    update(done: number, total: number, detail: string, force = false) {
      if (!enabled) return;
      const now = performance.now();
      if (!force && now - last < (tty ? 250 : 10_000)) return;
      last = now;
      const share = total > 0 ? Math.min(1, done / total) : 1;
      const width = 30;
      const bar = "#".repeat(Math.round(share * width)).padEnd(width, ".");
      const line = `${label} [${bar}] ${(share * 100).toFixed(0).padStart(3)}%  ${detail}  ${((now - started) / 1000).toFixed(0)} s`;
      process.stderr.write(
        tty ? `\r${line.padEnd(process.stderr.columns ? process.stderr.columns - 1 : 120)}` : `${line}\n`,
      );
    },
    done() {
      if (enabled && tty) process.stderr.write("\n");
    },
  };
}
