/** Repeat a measurement and keep the median: the machines are shared and noisy. */

export interface Sample {
  seconds: number;
  count: number;
  unit: string;
}

export interface BenchResult {
  name: string;
  unit: string;
  runs: number;
  medianSeconds: number;
  count: number;
  /** count per second at the median. */
  perSecond: number;
  /** seconds per unit at the median (microseconds for readability in the table). */
  microsecondsPer: number;
}

export let repeats = 5;
export function setRepeats(n: number): void {
  repeats = n;
}

export function measure(name: string, once: () => Sample): BenchResult {
  const samples: Sample[] = [];
  once(); // warm-up: JIT and caches
  for (let i = 0; i < repeats; i++) samples.push(once());
  samples.sort((a, b) => a.seconds / a.count - b.seconds / b.count);
  const mid = samples[Math.floor(samples.length / 2)] as Sample;
  return {
    name,
    unit: mid.unit,
    runs: samples.length,
    medianSeconds: mid.seconds,
    count: mid.count,
    perSecond: mid.count / mid.seconds,
    microsecondsPer: (mid.seconds / mid.count) * 1e6,
  };
}

export function formatTable(results: BenchResult[]): string {
  const rows = results.map((r) => [
    r.name,
    `${fmt(r.perSecond)} ${r.unit}/s`,
    `${r.microsecondsPer.toPrecision(3)} µs`,
    `${r.medianSeconds.toFixed(3)} s`,
    String(r.count),
  ]);
  const head = ["benchmark (median of runs)", "throughput", "per unit", "wall", "count"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function fmt(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(1);
}
