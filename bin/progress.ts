/**
 * A progress line with an ETA on stderr, for work long enough to wonder about (a long run
 * with failures). Only on a terminal: never into results, files or pipes. The wall clock
 * here measures the user's wait, not the simulation.
 */
import { formatDuration } from "../experiments/runner.ts";

export interface Progress {
  /** Share done, 0-1. */
  update(fraction: number): void;
  /** Clears the line. */
  end(): void;
}

/** A progress line for `label`, or undefined when stderr is not a terminal. */
export function terminalProgress(label: string, stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): Progress | undefined {
  if (stream.isTTY !== true) return undefined;
  const start = now();
  let shown = false;
  let last = start;
  return {
    update(fraction: number): void {
      const t = now();
      // Twice a second at most, and not for work that ends within the first second.
      if (t - last < 500 || t - start < 1000) return;
      last = t;
      const elapsed = (t - start) / 1000;
      const eta = fraction > 0 ? `ETA ${formatDuration((elapsed * (1 - fraction)) / fraction)}` : "ETA ?";
      stream.write(`\r\x1b[K${label}: ${(100 * fraction).toFixed(0)} %, ${eta}`);
      shown = true;
    },
    end(): void {
      if (shown) stream.write("\r\x1b[K");
    },
  };
}
