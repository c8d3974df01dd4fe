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
 * slowed step is the alone step's energy plus the extra time at that draw.
 */
import type { ClusterSpec } from "../scenario.ts";
import { ACTIVITY_SHARE, gpuPowerWatts } from "../power/gpu-power.ts";
import { NODE_OVERHEAD_OF_GPU_TDP } from "../power/step-power.ts";

/** Running GPU power of a job known only by its step time: a busy training GPU draws ~80 % of TDP. */
export const UNMODELLED_TDP_SHARE = 0.8;

export function nodeOverheadWatts(c: ClusterSpec): number {
  return c.power.nodeOverheadWatts ?? NODE_OVERHEAD_OF_GPU_TDP * c.gpusPerNode * c.gpu.tdpWatts;
}

function gpuLimit(c: ClusterSpec): number {
  return Math.min(c.power.gpuPowerLimit ?? c.gpu.tdpWatts, c.gpu.tdpWatts);
}

export function unmodelledGpuWatts(c: ClusterSpec): number {
  return Math.min(gpuLimit(c), UNMODELLED_TDP_SHARE * c.gpu.tdpWatts);
}

/** GPU power while waiting on communication (clock at 1). */
export function commGpuWatts(c: ClusterSpec): number {
  return Math.min(gpuLimit(c), gpuPowerWatts(c.gpu, ACTIVITY_SHARE.comm, 1));
}

/** Mean GPU power over a step slowed from `aloneSeconds` to `stepSeconds`. */
export function slowedGpuWatts(c: ClusterSpec, aloneWatts: number, aloneSeconds: number, stepSeconds: number): number {
  if (!(stepSeconds > aloneSeconds)) return aloneWatts;
  return (aloneWatts * aloneSeconds + commGpuWatts(c) * (stepSeconds - aloneSeconds)) / stepSeconds;
}

/** Facility watts with `busyWatts` drawn by `busyGpus` GPUs and the rest idle. */
export function facilityWatts(c: ClusterSpec, busyGpus: number, busyWatts: number): number {
  const total = c.nodes * c.gpusPerNode;
  return c.power.pue * (busyWatts + (total - busyGpus) * c.gpu.idleWatts + c.nodes * nodeOverheadWatts(c));
}
