/**
 * Average power of a step from what the GPUs spent it doing (no caps, no
 * controller: the dynamic power model with clocks and caps lives in the power
 * simulation). Each category of time draws a share of the GPU's dynamic range
 * (TDP − idle):
 * - compute-bound kernels run at the power limit (dense GEMMs on A100/H100 are
 *   power-limited: they sit at TDP);
 * - memory-bound kernels at 70 % of it;
 * - communication and waiting at 45 %: Patel et al. (ASPLOS'24, "POLCA") see
 *   training power fall to ~50 % of TDP in the synchronisation phase of
 *   GPT-NeoX iterations.
 * The node's CPUs, NICs, switches, fans and power supply add 45 % of the
 * GPUs' TDP (a DGX H100 runs at ~76 % of its 10.2 kW rating under heavy load,
 * Brookhaven, arXiv 2506.14551, i.e. ~7.8 kW of which ~5.2 kW GPUs), and the
 * facility multiplies everything by its PUE.
 */
import type { Breakdown } from "../step/categories.ts";
import type { Scenario } from "../scenario.ts";

export const COMPUTE_POWER_SHARE = 1.0;
export const MEMORY_POWER_SHARE = 0.7;
export const WAITING_POWER_SHARE = 0.45;
export const NODE_OVERHEAD_OF_GPU_TDP = 0.45;

export interface SteadyPower {
  gpuWatts: number;
  facilityMeanWatts: number;
  facilityPeakWatts: number;
}

export function steadyPower(s: Scenario, breakdown: Breakdown): SteadyPower {
  const gpu = s.cluster.gpu;
  const limit = Math.min(s.cluster.power.gpuPowerLimit ?? gpu.tdpWatts, gpu.tdpWatts);
  const range = limit - gpu.idleWatts;
  const compute = breakdown.compute + breakdown.power;
  const memory = breakdown.hbm;
  const waiting = 1 - compute - memory;
  const gpuWatts = gpu.idleWatts + range * (COMPUTE_POWER_SHARE * compute + MEMORY_POWER_SHARE * memory + WAITING_POWER_SHARE * waiting);
  const gpus = s.cluster.nodes * s.cluster.gpusPerNode;
  const nodeOther = NODE_OVERHEAD_OF_GPU_TDP * s.cluster.gpusPerNode * gpu.tdpWatts;
  const facility = (g: number): number => s.cluster.power.pue * (gpus * g + s.cluster.nodes * nodeOther);
  return { gpuWatts, facilityMeanWatts: facility(gpuWatts), facilityPeakWatts: facility(limit) };
}
