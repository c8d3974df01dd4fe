/**
 * Offload through the host path, as DeepSpeed ZeRO-Offload / ZeRO-3 offload and activation
 * offloading run it: what crosses each GPU's PCIe link and what the host CPU computes.
 *
 * - offloadParams (ZeRO-3 offload_param): a unit's parameter shard lives in host memory and
 *   is copied host → device before each of its all-gathers (forward, and backward again with
 *   reshardAfterForward), on the communication stream, so prefetch hides it like the gather.
 * - offloadOptimizer (ZeRO-Offload): each reduced gradient shard goes device → host (ZeRO-3:
 *   after every unit's reduce-scatter, every micro-batch; ZeRO-1/2: after the reduction);
 *   Adam runs on the host (DeepSpeed CPU-Adam) while the GPU waits; the updated shard comes
 *   back host → device in the compute dtype unless parameters are offloaded too.
 * - offloadActivations: an offloaded layer's saved activations go device → host during its
 *   forward and come back during its backward, overlapping the layers' compute.
 * - offloadModules (Megatron-Core --offload-modules) and a remat policy's offloaded tensors: the
 *   same copies of those tensors only, for every layer that has them.
 *
 * The host's memory bandwidth and a PCIe switch shared by two GPUs (DGX A100) are not
 * modelled: each GPU gets its own link at the measured copy bandwidth.
 */
import { CPU_ADAM_PARAMS_PER_SECOND, hostCopyBandwidth } from "../network/host.ts";
import { rankOfVirtualStage } from "../parallel/stages.ts";
import type { Scenario } from "../scenario.ts";
import { layerActivationBytes, layerShape, moduleOffloadBytes, offloadedLayers, offloadsActivations } from "../workload/memory.ts";
import { denseLayersPerStage } from "../workload/moe.ts";
import { layerDims } from "../workload/layer-kernels.ts";
import { rematPlan } from "../workload/remat-policy.ts";

export interface OffloadSettings {
  params: boolean;
  optimizer: boolean;
  /** Ranks whose CPU-Adam steps share one host at once. */
  ranksPerHost: number;
  /** Bytes/s per PCIe direction. */
  copyBandwidth: number;
  /** Bytes of saved activations per layer of virtual stage v copied each way per micro-batch (0: none). */
  activationBytesPerLayer(split: readonly number[], v: number): number;
}

export function offloadSettings(s: Scenario): OffloadSettings {
  const p = s.parallelism;
  const gpus = p.tp * p.pp * p.cp * p.dp;
  const shape = layerShape(s);
  const perLayer = offloadsActivations(p) ? layerActivationBytes(shape, p.recompute) : 0;
  // A remat policy's offloaded tensors leave every layer (remat-policy.ts); the loader keeps it apart from offloadActivations.
  const rematHost = shape.remat !== undefined ? rematPlan(shape, layerDims(shape), shape.remat).hostBytes : 0;
  // --offload-modules: a MoE layer's offloaded saved inputs (offload-modules.ts); a chunk's dense first layers have none.
  const moduleHost = moduleOffloadBytes(shape, p);
  return {
    params: p.zero >= 3 && p.offloadParams === true,
    optimizer: p.offloadOptimizer === true,
    ranksPerHost: Math.max(1, Math.min(s.cluster.gpusPerNode, gpus)),
    copyBandwidth: hostCopyBandwidth(s.cluster.gpu),
    activationBytesPerLayer(split: readonly number[], v: number): number {
      if (perLayer === 0) return rematHost + (moduleHost > 0 ? (moduleHost * ((split[v] as number) - (denseLayersPerStage(s.workload.model, split)[v] ?? 0))) / Math.max(split[v] as number, 1) : 0);
      // offloadActivations counts a pipeline stage's layers; its virtual stages share them pro rata.
      let stageLayers = 0;
      for (let w = 0; w < split.length; w++) if (rankOfVirtualStage(w, p.pp) === rankOfVirtualStage(v, p.pp)) stageLayers += split[w] as number;
      return stageLayers > 0 ? (perLayer * offloadedLayers(p, stageLayers)) / stageLayers : 0;
    },
  };
}

/** Seconds of one rank's CPU-Adam step over `shardParams` parameters, its host shared by `ranksPerHost` ranks. */
export function cpuAdamSeconds(shardParams: number, ranksPerHost: number): number {
  return (shardParams * ranksPerHost) / CPU_ADAM_PARAMS_PER_SECOND;
}
