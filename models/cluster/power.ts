/**
 * Facility power of a cluster running several jobs:
 *
 *   P = PUE × (Σ_jobs gpus_j · P_j + idle GPUs · P_idle + nodes · P_node)
 *
 * with the node overhead (CPUs, memory, NICs, switches, fans) of
 * models/power/step-power.ts, drawn by every node whether busy or not.
 * P_j is a job's mean GPU power: from its step simulation (modelled jobs) or
 * 0.8 × TDP (unmodelled jobs), capped by the GPU power limit. A job slowed by
 * other jobs' traffic waits longer in communication, where a GPU draws the
 * `comm` activity share of models/power/gpu-power.ts: its mean power over a
 * slowed step is the alone step's energy plus the extra time at that draw
 * (jobUnderLimit).
 */
import type { ClusterSpec } from "../scenario.ts";
import { ACTIVITY_SHARE, MIN_CLOCK, dvfsExponentOf, gpuPowerWatts } from "../power/gpu-power.ts";

/** Running GPU power of a job known only by its step time: a busy training GPU draws ~80 % of TDP. */
export const UNMODELLED_TDP_SHARE = 0.8;

export function nodeOverheadWatts(c: ClusterSpec): number {
  return c.power.nodeOverheadWatts;
}

/** The GPU power limit jobs run under when the facility does not bind (their own setting, at most TDP). */
export function gpuLimit(c: ClusterSpec): number {
  return Math.min(c.power.gpuPowerLimit ?? c.gpu.tdpWatts, c.gpu.tdpWatts);
}

export function unmodelledGpuWatts(c: ClusterSpec): number {
  return Math.min(gpuLimit(c), UNMODELLED_TDP_SHARE * c.gpu.tdpWatts);
}

/** GPU power while waiting on communication (clock at 1). */
export function commGpuWatts(c: ClusterSpec): number {
  return Math.min(gpuLimit(c), gpuPowerWatts(c.gpu, ACTIVITY_SHARE.comm, 1));
}


/** Facility watts with `busyWatts` drawn by `busyGpus` GPUs and the rest idle. */
export function facilityWatts(c: ClusterSpec, busyGpus: number, busyWatts: number): number {
  const total = c.nodes * c.gpusPerNode;
  return c.power.pue * (busyWatts + (total - busyGpus) * c.gpu.idleWatts + c.nodes * nodeOverheadWatts(c));
}

/**
 * The facility power controller of a shared cluster. Over the cap it lowers one GPU
 * power limit for every running GPU (as a site power manager does through the GPUs'
 * power-limit interface); each job's clock-bound phase — its compute-bound time, at
 * `phaseWatts` unthrottled — then runs at the clock where it draws that limit
 * (models/power/gpu-power.ts), and takes 1/clock as long. Memory-bound kernels and
 * communication draw less than any limit the controller sets and keep their speed.
 * Power here is each job's mean over its step: the cluster model moves in steps and
 * the controller in seconds; sub-step swings are the step model's business.
 */
export interface PoweredJob {
  gpus: number;
  stepSecondsAlone: number;
  /** Mean GPU watts over the step alone, unthrottled. */
  aloneWatts: number;
  /** Share of the step alone that is clock-bound, and its GPU watts then. */
  clockShare: number;
  phaseWatts: number;
  /** Share of the step alone in inter-node communication, and what contention multiplies it by. */
  commShare: number;
  multiplier: number;
}

export interface JobUnderLimit {
  /** Clock of the clock-bound phase against unthrottled (1: not throttled). */
  clock: number;
  stepSeconds: number;
  gpuWatts: number;
}

export function jobUnderLimit(c: ClusterSpec, job: PoweredJob, limitWatts: number): JobUnderLimit {
  const idle = c.gpu.idleWatts;
  const k = job.clockShare;
  const cc = job.commShare;
  const s0 = job.stepSecondsAlone;
  const gamma = dvfsExponentOf(c.gpu);
  let clock = 1;
  if (k > 0 && limitWatts < job.phaseWatts && job.phaseWatts > idle) {
    clock = Math.max(MIN_CLOCK, Math.max(0, (limitWatts - idle) / (job.phaseWatts - idle)) ** (1 / gamma));
  }
  const phaseWatts = clock === 1 ? job.phaseWatts : idle + (job.phaseWatts - idle) * clock ** gamma;
  const stepSeconds = s0 * (1 - k - cc + k / clock + cc * job.multiplier);
  const energy =
    job.aloneWatts * s0 - job.phaseWatts * k * s0 + (phaseWatts * k * s0) / clock + commGpuWatts(c) * cc * s0 * Math.max(0, job.multiplier - 1);
  return { clock, stepSeconds, gpuWatts: energy / stepSeconds };
}

export interface FacilityControl {
  /** The GPU power limit the controller set (null: the cap does not bind). */
  limitWatts: number | null;
  jobs: JobUnderLimit[];
  facilityWatts: number;
}

/**
 * The highest common GPU limit that keeps the facility at or under `capWatts` with
 * these jobs running (bisection: facility power rises with the limit). If even the
 * lowest clocks cannot meet the cap the limit stays at the floor and power above it.
 */
export function controlFacility(c: ClusterSpec, jobs: readonly PoweredJob[], busyGpus: number, capWatts: number | undefined): FacilityControl {
  const at = (limit: number): { jobs: JobUnderLimit[]; watts: number } => {
    const under = jobs.map((j) => jobUnderLimit(c, j, limit));
    let busy = 0;
    under.forEach((u, i) => (busy += (jobs[i] as PoweredJob).gpus * u.gpuWatts));
    return { jobs: under, watts: facilityWatts(c, busyGpus, busy) };
  };
  const free = at(Infinity);
  if (capWatts === undefined || free.watts <= capWatts) return { limitWatts: null, jobs: free.jobs, facilityWatts: free.watts };
  let lo = c.gpu.idleWatts;
  let hi = Math.max(lo, ...jobs.map((j) => j.phaseWatts));
  if (at(lo).watts > capWatts) {
    const floor = at(lo);
    return { limitWatts: lo, jobs: floor.jobs, facilityWatts: floor.watts };
  }
  for (let i = 0; i < 60 && hi - lo > 1e-9 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (at(mid).watts <= capWatts) lo = mid;
    else hi = mid;
  }
  const set = at(lo);
  return { limitWatts: lo, jobs: set.jobs, facilityWatts: set.watts };
}
