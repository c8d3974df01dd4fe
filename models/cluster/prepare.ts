/**
 * Jobs made ready to schedule: each one's step time alone, the share of it
 * that other jobs' traffic can stretch, its GPU power and its step count.
 *
 * Modelled jobs run the full step simulation (`runScenario`) once per
 * distinct (cluster, workload, plan) — identical jobs in a trace share one
 * result — on the cluster restricted to the job's GPUs: that is the job alone
 * on a compact placement. Their contention-sensitive share is the step's
 * `network` share (time bound by NICs and the fabric); see simulate.ts for how
 * it is scaled.
 */
import { ACTIVITY_SHARE, gpuPowerWatts } from "../power/gpu-power.ts";
import { runScenario, type RunResult } from "../run.ts";
import type { ClusterSpec } from "../scenario.ts";
import { commGpuWatts, gpuLimit, unmodelledGpuWatts } from "./power.ts";
import { storageReader } from "./storage-share.ts";
import type { JobSpec, PreparedJob } from "./types.ts";

/** Step simulations shared by every job (and every run of a comparison) with the same inputs. */
export class StepCache {
  private readonly results = new Map<string, RunResult>();
  runs = 0;
  reused = 0;

  result(scenario: JobSpec["work"] & { kind: "modelled" }): RunResult {
    const s = scenario.scenario;
    const key = JSON.stringify(s.data === undefined ? [s.cluster, s.workload, s.parallelism] : [s.cluster, s.workload, s.parallelism, s.data]);
    const hit = this.results.get(key);
    if (hit !== undefined) {
      this.reused++;
      return hit;
    }
    this.runs++;
    // One step of the job alone: its reliability: (checkpoint writes, storage-share.ts) is no long run here.
    const { reliability: _writes, ...step } = s;
    const { result } = runScenario({ ...step, run: { steps: 1 } });
    this.results.set(key, result);
    return result;
  }
}

function stepsFor(spec: JobSpec, stepSeconds: number): number {
  if (spec.steps !== undefined) return spec.steps;
  return Math.max(1, Math.round((spec.duration ?? stepSeconds) / stepSeconds));
}

export function prepareJob(cluster: ClusterSpec, spec: JobSpec, index: number, cache: StepCache): PreparedJob {
  if (spec.work.kind === "unmodelled") {
    const w = spec.work;
    const gpuWatts = w.gpuWatts ?? unmodelledGpuWatts(cluster);
    return {
      index,
      spec,
      steps: stepsFor(spec, w.stepSeconds),
      stepSecondsAlone: w.stepSeconds,
      commShare: w.commFraction,
      gpuWatts,
      // Known by its mean draw only: its communication draws what communication does
      // (power.ts), the rest follows the clock at the draw that makes up the mean.
      clockShare: 1 - w.commFraction,
      phaseWatts: w.commFraction < 1 ? Math.max(cluster.gpu.idleWatts, (gpuWatts - w.commFraction * commGpuWatts(cluster)) / (1 - w.commFraction)) : gpuWatts,
    };
  }
  const run = cache.result(spec.work);
  const reader = storageReader(spec.work.scenario, run, spec.work.sharedTier);
  return {
    index,
    spec,
    steps: stepsFor(spec, run.stepSeconds),
    stepSecondsAlone: run.stepSeconds,
    commShare: run.stepBreakdown.network,
    gpuWatts: run.gpuPowerWatts,
    // Compute-bound kernels (at full or power-limited clock) run at the GPU's power limit.
    clockShare: run.stepBreakdown.compute + run.stepBreakdown.power,
    phaseWatts: Math.min(gpuLimit(cluster), gpuPowerWatts(cluster.gpu, ACTIVITY_SHARE.gemm, 1)),
    run,
    ...(reader !== undefined ? { reader } : {}),
  };
}
