/** The results of a cluster run: each job's line and the run's summary, from the simulation's state. */
import type { JobState } from "./job-state.ts";
import type { ClusterJobResult, ClusterRunSummary } from "./types.ts";

/** Time integrals the simulation keeps over the run. */
export interface RunTotals {
  /** GPU-seconds held by running jobs. */
  busyIntegral: number;
  /** The same while at least one job waited. */
  busyWhileQueued: number;
  queuedSeconds: number;
  /** Facility energy, J. */
  energy: number;
  /** Facility draw at the end, and its peak, W. */
  lastWatts: number;
  peakWatts: number;
  /** Seconds above the cap, and seconds the controller held clocks down. */
  overCap: number;
  throttledTime: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, x) => a + x, 0) / xs.length;
}

/** One job's line of the results; `leaves` is how many placement units its GPUs span. */
export function jobResult(j: JobState, leaves: number): ClusterJobResult {
  const p = j.p;
  const alone = p.steps * p.stepSecondsAlone;
  const completion = j.end === null ? null : j.end - p.spec.arrival;
  const meanStep = j.stepsExecuted > 0 ? j.runSeconds / j.stepsExecuted : p.stepSecondsAlone;
  const out: ClusterJobResult = {
    name: p.spec.name,
    kind: p.spec.work.kind,
    gpus: p.spec.gpus,
    priority: p.spec.priority,
    status: j.status,
    steps: p.steps,
    submitSeconds: p.spec.arrival,
    startSeconds: j.firstStart,
    endSeconds: j.end,
    queueSeconds: j.queueSeconds,
    completionSeconds: completion,
    stepSecondsAlone: p.stepSecondsAlone,
    aloneSeconds: alone,
    runSeconds: j.runSeconds,
    meanStepSeconds: meanStep,
    contentionSlowdown: meanStep / p.stepSecondsAlone,
    slowdown: completion === null ? null : completion / alone,
    slowedShare: j.runSeconds > 0 ? j.slowedSeconds / j.runSeconds : 0,
    commShare: p.commShare,
    preemptions: j.preemptions,
    lostSteps: j.lostSteps,
    leaves,
    firstGpu: j.placement === null ? null : (j.placement[0] as number),
    segments: j.segments,
    gpuWatts: p.gpuWatts,
    throttledShare: j.runSeconds > 0 ? j.throttledSeconds / j.runSeconds : 0,
  };
  if (p.reader !== undefined) out.storage = { tier: p.reader.tier, slowedShare: j.runSeconds > 0 ? j.storageSlowedSeconds / j.runSeconds : 0 };
  if (j.reason !== undefined) out.reason = j.reason;
  return out;
}

/** The run's summary over its jobs' lines. */
export function runSummary(jobs: readonly ClusterJobResult[], end: number, totalGpus: number, t: RunTotals): ClusterRunSummary {
  const done = jobs.filter((j) => j.status === "done");
  const started = jobs.filter((j) => j.startSeconds !== null);
  const queues = started.map((j) => j.queueSeconds).sort((a, b) => a - b);
  const slowdowns = done.map((j) => j.slowdown as number).sort((a, b) => a - b);
  const gpuTime = started.reduce((a, j) => a + j.gpus * j.runSeconds, 0);
  const slowedGpuTime = started.reduce((a, j) => a + j.gpus * j.runSeconds * j.slowedShare, 0);
  const summary: ClusterRunSummary = {
    jobs: jobs.length,
    done: done.length,
    rejected: jobs.filter((j) => j.status === "rejected").length,
    unfinished: jobs.filter((j) => j.status === "running" || j.status === "queued" || j.status === "pending").length,
    makespanSeconds: end,
    meanQueueSeconds: mean(queues),
    p50QueueSeconds: quantile(queues, 0.5),
    p95QueueSeconds: quantile(queues, 0.95),
    meanCompletionSeconds: mean(done.map((j) => j.completionSeconds as number)),
    meanSlowdown: mean(slowdowns),
    p95Slowdown: quantile(slowdowns, 0.95),
    meanContentionSlowdown: mean(started.map((j) => j.contentionSlowdown)),
    slowedGpuTimeShare: gpuTime > 0 ? slowedGpuTime / gpuTime : 0,
    preemptions: jobs.reduce((a, j) => a + j.preemptions, 0),
    lostGpuSeconds: jobs.reduce((a, j) => a + j.lostSteps * j.meanStepSeconds * j.gpus, 0),
    meanUtilisation: end > 0 ? t.busyIntegral / (end * totalGpus) : 0,
    utilisationWhileQueued: t.queuedSeconds > 0 ? t.busyWhileQueued / (t.queuedSeconds * totalGpus) : null,
    queuedSeconds: t.queuedSeconds,
    facilityPowerWatts: { mean: end > 0 ? t.energy / end : t.lastWatts, peak: t.peakWatts },
    secondsOverCap: t.overCap,
    secondsThrottled: t.throttledTime,
    energyJoules: t.energy,
  };
  if (started.some((j) => j.storage !== undefined)) {
    const slowed = started.reduce((a, j) => a + j.gpus * j.runSeconds * (j.storage?.slowedShare ?? 0), 0);
    summary.storageSlowedGpuTimeShare = gpuTime > 0 ? slowed / gpuTime : 0;
  }
  return summary;
}
