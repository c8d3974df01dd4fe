/**
 * One sweep point, from raw scenario to result: what a worker thread runs. Kept apart from
 * the runner so worker threads load only what they need.
 */
import { runScenario } from "../models/run.ts";
import { analyseUncertainty } from "../models/uncertainty/analyse.ts";
import { outOfMemory } from "../models/workload/memory.ts";
import { ConfigError } from "./errors.ts";
import { scenarioFromObject, type LoadOptions } from "./load.ts";
import { workProblem } from "./work-limits.ts";
import type { SweepPoint, SweepPointResult } from "../models/results.ts";

export interface PointTask extends SweepPoint {
  experiment: string;
  /** The raw scenario of this point, overrides applied, not yet validated. */
  scenario: Record<string, unknown>;
  loadOptions: LoadOptions;
  /**
   * Keep the facility power series (`result.power.series`) in the result: only for
   * experiments that draw the power chart; elsewhere it would be ~95 % of every line.
   */
  keepPowerSeries?: boolean;
  /** sweep --uncertainty N: also sample the point's calibrated constants (result.uncertainty, docs/uncertainty.md). */
  uncertaintySamples?: number;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Load, check memory, simulate. Never throws: a config the loader refuses or a plan that
 * does not fit in memory is `invalid`, an exception in the simulation is `failed`.
 */
export function evaluatePoint(task: PointTask): SweepPointResult {
  const head = { index: task.index, seed: task.seed, params: task.params, experiment: task.experiment };
  let scenario;
  try {
    scenario = scenarioFromObject(task.scenario, task.loadOptions);
  } catch (e) {
    const error = e instanceof ConfigError ? e.problems.map((p) => p.message).join("; ") : `loading failed: ${errorText(e)}`;
    return { ...head, status: "invalid", error };
  }
  try {
    // Before the memory check, which walks the pipeline schedule (micro-batches).
    const work = workProblem(scenario);
    if (work !== null) return { ...head, status: "invalid", error: `work: ${work}` };
    const oom = outOfMemory(scenario);
    if (oom !== null) return { ...head, status: "invalid", error: `memory: ${oom}` };
    const { result, step } = runScenario(scenario);
    if (task.uncertaintySamples !== undefined) result.uncertainty = analyseUncertainty(scenario, { samples: task.uncertaintySamples, mode: step.mode });
    if (task.keepPowerSeries !== true) result.power = { ...result.power, series: [] };
    return { ...head, status: "ok", result };
  } catch (e) {
    return { ...head, status: "failed", error: `simulation failed: ${errorText(e)}` };
  }
}
