/** Sweep results for report tests, built in-process from the bundled scenarios. */
import { join } from "node:path";
import { loadScenario } from "../../experiments/load.ts";
import type { SweepPointResult } from "../../models/results.ts";
import { runScenario, type RunResult } from "../../models/run.ts";
import type { Scenario } from "../../models/scenario.ts";
import { CATEGORIES, emptyBreakdown, type Breakdown } from "../../models/categories.ts";

export const SCENARIOS = join(import.meta.dirname, "../../experiments/scenarios");

export function scenario(name: string): Scenario {
  return loadScenario(join(SCENARIOS, `${name}.yaml`));
}

export function withHbmBandwidth(s: Scenario, hbmBandwidth: number): Scenario {
  return { ...s, cluster: { ...s.cluster, gpu: { ...s.cluster.gpu, hbmBandwidth } } };
}

/** The bundled HBM sweep, run here: llama3-8b-64 at 1, 2, 3.35, 4.8 and 8 TB/s. */
export function hbmSweep(labels: string[] = ["1 TB/s", "2 TB/s", "3.35 TB/s", "4.8 TB/s", "8 TB/s"], experiment = "hbm-bandwidth-shift"): SweepPointResult[] {
  const base = scenario("llama3-8b-64");
  return labels.map((label, index) => {
    const value = Number.parseFloat(label) * 1e12;
    const { result } = runScenario(withHbmBandwidth(base, value));
    return { index, seed: 1, params: { "cluster.gpu.hbmBandwidth": label }, experiment, status: "ok", result };
  });
}

/** A run result with a chosen breakdown (other fields from a real run). */
export function withBreakdown(result: RunResult, shares: Partial<Breakdown>): RunResult {
  const b = emptyBreakdown();
  for (const c of CATEGORIES) b[c] = shares[c] ?? 0;
  return { ...result, breakdown: b };
}
