/**
 * `trainsim plan` on GPT-3 175B over 1,024 H100 (experiments/scenarios/gpt3-175b-1024.yaml):
 * the whole search (space, divisibility, memory, bound, simulation on worker threads), once,
 * as the command runs it. Issue 25's floor: at least 2,000 layouts considered, under 60 s on
 * a 2-core machine.
 */
import { availableParallelism } from "node:os";
import { planScenario } from "../experiments/plan/search.ts";
import type { BenchResult } from "./harness.ts";

export interface PlanBenchResult extends BenchResult {
  considered: number;
  simulated: number;
}

export async function planGpt3(workers = availableParallelism()): Promise<PlanBenchResult> {
  const t0 = process.hrtime.bigint();
  const plan = await planScenario("experiments/scenarios/gpt3-175b-1024.yaml", { top: 10, workers });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const considered = plan.counts.considered;
  return {
    name: `plan: GPT-3 175B, 1,024 H100 (whole search, ${workers} workers)`,
    unit: "layouts",
    runs: 1,
    medianSeconds: seconds,
    count: considered,
    perSecond: considered / seconds,
    microsecondsPer: (seconds / considered) * 1e6,
    considered,
    simulated: plan.counts.simulated,
  };
}
