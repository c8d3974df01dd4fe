/**
 * Folded vs full (every GPU) step simulations of the two big bundled scenarios:
 * wall time, engine events per second, and peak memory.
 *
 * Wall time and events come from repeated in-process runs (median, as every
 * benchmark here). Peak memory is the maximum resident set of a fresh process
 * that loads the scenario and simulates one step, so earlier cases cannot
 * inflate it; it includes Node's and the loader's own ~100 MB.
 *
 * `node --import tsx/esm bench/step-full.ts [--json] [--quick]` runs only these cases.
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadScenario } from "../experiments/load.ts";
import { simulateStep } from "../models/step/simulate.ts";
import { formatTable, measure, setRepeats, type BenchResult } from "./harness.ts";

export interface StepFullBenchResult extends BenchResult {
  /** Peak resident set of a process simulating one such step, bytes. */
  peakRssBytes: number;
  stepSeconds: number;
}

const SELF = fileURLToPath(import.meta.url);

/** Peak RSS of a child process that runs one step (same Node flags, so the same loader). */
function peakRss(file: string, full: boolean): number {
  const r = spawnSync(process.execPath, [...process.execArgv, SELF, "--peak-rss", file, full ? "full" : "folded"], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`peak-memory run of ${file} failed: ${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split("\n").pop() as string) as { peakRssBytes: number }).peakRssBytes;
}

export function stepFullBench(label: string, file: string, full: boolean): StepFullBenchResult {
  const s = loadScenario(file);
  let stepSeconds = 0;
  const result = measure(label, () => {
    const t0 = process.hrtime.bigint();
    const r = simulateStep(s, { mode: full ? "full" : "folded" });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    stepSeconds = r.stepSeconds;
    return { seconds, count: r.events, unit: "events" };
  });
  return { ...result, peakRssBytes: peakRss(file, full), stepSeconds };
}

export const STEP_FULL_CASES: readonly [label: string, file: string, full: boolean][] = [
  ["folded vs full: GPT-3 175B, 1,024 H100, folded", "experiments/scenarios/gpt3-175b-1024.yaml", false],
  ["folded vs full: GPT-3 175B, 1,024 H100, full", "experiments/scenarios/gpt3-175b-1024.yaml", true],
  ["folded vs full: Llama 3 405B, 16,384 H100, folded", "experiments/scenarios/llama3-405b-16k.yaml", false],
  ["folded vs full: Llama 3 405B, 16,384 H100, full", "experiments/scenarios/llama3-405b-16k.yaml", true],
];

export function formatPeakMemory(results: readonly BenchResult[]): string {
  return results
    .filter((r): r is StepFullBenchResult => "peakRssBytes" in r)
    .map((r) => `${r.name}: peak memory ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB, simulated step ${r.stepSeconds.toFixed(3)} s`)
    .join("\n");
}

const args = process.argv.slice(2);
if (process.argv[1] !== undefined && resolve(process.argv[1]) === SELF) {
  if (args[0] === "--peak-rss") {
    const s = loadScenario(args[1] as string);
    simulateStep(s, { mode: args[2] === "full" ? "full" : "folded" });
    process.stdout.write(JSON.stringify({ peakRssBytes: process.resourceUsage().maxRSS * 1024 }) + "\n");
  } else {
    if (args.includes("--quick")) setRepeats(1);
    const results = STEP_FULL_CASES.map(([label, file, full]) => stepFullBench(label, file, full));
    if (args.includes("--json")) process.stdout.write(JSON.stringify({ node: process.version, results }, null, 2) + "\n");
    else process.stdout.write(formatTable(results) + "\n\n" + formatPeakMemory(results) + "\n");
  }
}
