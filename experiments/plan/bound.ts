/**
 * A cheap lower bound on a layout's step time, to skip simulating layouts that cannot beat
 * the ones already simulated. The kernels of the layers, the embedding, the output layer and
 * the optimizer count (transfers that may overlap them do not), each at the rate it reaches alone on
 * an idle GPU at full clock: the fluid model never runs a kernel faster than that, and two
 * kernels on one GPU share its SMs and HBM, so a rank is busy at least max(Σ SM work / peak,
 * Σ HBM work / bandwidth). Tensor-parallel collectives not pipelined with a GEMM add their
 * bytes over the scale-up link. Then the pipeline: rank r starts only once the first
 * micro-batch's forward has passed the virtual stages before it, and the step ends only once
 * the last micro-batch's backward has passed them again, and the rank's optimizer (and
 * ZeRO-1/2 parameter all-gather) has run. test/experiments/plan.test.ts checks the bound
 * never exceeds the simulated step.
 */
import { kernelCost, peakFlops } from "../../models/compute/kernel.ts";
import { microBatchesPerStep } from "../../models/parallel/plan.ts";
import { layersPerVirtualStage } from "../../models/parallel/stages.ts";
import type { Scenario } from "../../models/scenario.ts";
import { embeddingKernels, headKernels, layerBackwardKernels, layerForwardKernels, layerRecomputeKernels, type StreamCollective } from "../../models/workload/layer-kernels.ts";
import { rankLayout } from "../../models/parallel/layout.ts";
import type { GroupLayout } from "../../models/collectives/alpha-beta.ts";
import { scaleUpSpan } from "../../models/network/build.ts";
import type { Kernel } from "../../models/compute/kernel.ts";
import { elementBytes, fsdpSettings, gradElementBytes, layerShape, memoryByStage, optimizerBytesPerParam, type MemoryBreakdown } from "../../models/workload/memory.ts";

/** Seconds one layer's kernels keep a GPU busy at the least, forward and backward (recompute included). */
export interface LayerSeconds {
  forward: number;
  backward: number;
  /** Output layer and loss, forward and backward (last virtual stage). */
  head: number;
  /** Input embedding, forward and backward (first virtual stage). */
  embedding: number;
}

function busySeconds(kernels: readonly Kernel[], s: Scenario): number {
  const gpu = s.cluster.gpu;
  const peak = peakFlops(gpu, s.workload.precision);
  let sm = 0;
  let hbm = 0;
  for (const k of kernels) {
    const c = kernelCost(k, gpu, s.workload.precision);
    sm += c.smWork;
    hbm += c.hbmWork;
  }
  return Math.max(sm / peak, hbm / gpu.hbmBandwidth);
}

/**
 * Tensor-parallel collectives the layer waits for (not pipelined with a GEMM): each GPU sends
 * at least (tp−1)/tp of the buffer (twice for an all-reduce) over its scale-up link.
 */
function exposedTpSeconds(collectives: readonly StreamCollective[], s: Scenario): number {
  const tp = s.parallelism.tp;
  if (tp <= 1) return 0;
  let bytes = 0;
  for (const c of collectives) {
    if (c.group !== "tp" || c.overlap !== undefined) continue;
    bytes += c.count * c.bytes * ((tp - 1) / tp) * (c.op === "all-reduce" ? 2 : 1);
  }
  return bytes / s.cluster.gpu.scaleUpBandwidth;
}

/** One transformer layer of one micro-batch on one GPU, and the head and embedding of one micro-batch. */
export function layerSeconds(s: Scenario): LayerSeconds {
  const x = layerShape(s);
  const fwd = layerForwardKernels(x);
  const rec = layerRecomputeKernels(x, s.parallelism.recompute);
  const bwd = layerBackwardKernels(x);
  const forward = busySeconds(fwd.kernels, s) + exposedTpSeconds(fwd.collectives, s);
  const backward = busySeconds([...rec.kernels, ...bwd.kernels], s) + exposedTpSeconds([...rec.collectives, ...bwd.collectives], s);
  const head = busySeconds([...headKernels(x, "forward").kernels, ...headKernels(x, "backward").kernels], s);
  const embedding = busySeconds([...embeddingKernels(x, "forward").kernels, ...embeddingKernels(x, "backward").kernels], s);
  return { forward, backward, head, embedding };
}

/**
 * Lower bound on the step time, seconds, given the layer time (`layer`, from layerSeconds of
 * a scenario with the same per-layer shape). The split must be valid (checkPlan passed).
 */
export function stepSecondsLowerBound(s: Scenario, layer: LayerSeconds = layerSeconds(s)): number {
  const p = s.parallelism;
  const split = layersPerVirtualStage(s.workload.model.layers, p);
  if (typeof split === "string") throw new Error(split);
  const micro = microBatchesPerStep(s);
  const perLayer = layer.forward + layer.backward;
  const memory = memoryByStage(s);
  let best = 0;
  // Seconds of the virtual stages before rank r's first chunk: the fill and drain it waits for.
  let before = 0;
  for (let r = 0; r < p.pp; r++) {
    let own = 0;
    for (let v = r; v < split.length; v += p.pp) own += (split[v] as number) * perLayer;
    if (r === 0) own += layer.embedding;
    if (r === p.pp - 1) own += layer.head;
    const params = (memory[r] as MemoryBreakdown).params - ((memory[r] as MemoryBreakdown).expertParams ?? 0);
    best = Math.max(best, micro * own + before + afterStepSeconds(s, params), dataParallelLinkSeconds(s, params, micro));
    before += (split[r] as number) * perLayer + (r === 0 ? layer.embedding : 0);
  }
  return best;
}

/**
 * Seconds the data-parallel traffic of one step (dense parameters only) keeps the links busy,
 * overlapped or not: a GPU cannot finish its step before its share has crossed them.
 */
function dataParallelLinkSeconds(s: Scenario, params: number, micro: number): number {
  const p = s.parallelism;
  const weightBytes = elementBytes(s.workload.precision);
  const gradBytes = gradElementBytes(p.gradReduceDtype);
  const layout = rankLayout(p, s.cluster);
  if (p.zero >= 3) {
    const fs = fsdpSettings(p);
    const noSync = p.fsdpGradSync === "last-micro-batch" && micro > 1;
    const gathers = micro * (fs.reshardAfterForward ? 2 : 1) * params * weightBytes;
    const reduces = (noSync ? 1 : micro) * params * gradBytes;
    return linkSeconds(s, gathers + reduces, groupOf(fs.shardGroup * p.cp, p.tp, s));
  }
  const grads = (p.zero === 0 ? 2 : 1) * params * gradBytes;
  const gather = p.zero >= 1 ? params * weightBytes : 0;
  return linkSeconds(s, grads + gather, layout.dpShard);
}

/** A shard group of `size` members `stride` ranks apart, as rankLayout places them. */
function groupOf(size: number, stride: number, s: Scenario): GroupLayout {
  if (size <= 1) return { size: 1, perNode: 1 };
  const span = scaleUpSpan(s.cluster);
  return { size, perNode: stride >= span ? 1 : Math.max(1, Math.min(size, Math.floor(span / stride))) };
}

/**
 * Least time for each member of `group` to receive `bytes` × (G−1)/G (an all-gather's or a
 * reduce-scatter's share; an all-reduce counts twice): over its scale-up link inside one
 * domain; across domains, what comes from outside enters through the g members' NICs.
 */
function linkSeconds(s: Scenario, bytes: number, group: GroupLayout): number {
  const G = group.size;
  if (G <= 1 || bytes <= 0) return 0;
  const g = group.perNode;
  return g >= G ? (bytes * (G - 1)) / G / s.cluster.gpu.scaleUpBandwidth : (bytes * (G - g)) / G / g / s.cluster.network.nicBandwidth;
}

/**
 * What a rank does after its last backward and before the next step: the optimizer over its
 * shard of the (dense) parameters, alone on HBM, and ZeRO-1/2's parameter all-gather when it
 * is not overlapped with the next forward. The gather's lower bound: each GPU receives
 * (G−1)/G of the parameters over its scale-up link inside one domain; across domains, the
 * shards from outside enter a domain once, through the NICs of the group's g members there.
 */
function afterStepSeconds(s: Scenario, params: number): number {
  const p = s.parallelism;
  const zero3 = p.zero >= 3;
  const dpShard = p.dp * p.cp;
  const shardOver = zero3 ? fsdpSettings(p).shardGroup * p.cp : p.zero >= 1 ? dpShard : 1;
  const shardParams = params / shardOver;
  const optimizer = kernelCost({ name: "optimizer", kind: "memory", flops: 12 * shardParams, bytes: shardParams * optimizerBytesPerParam(s), launches: 8 }, s.cluster.gpu, s.workload.precision);
  let gather = 0;
  if (p.zero >= 1 && !zero3 && dpShard > 1 && p.overlapParamGather !== true && p.offloadOptimizer !== true) {
    const bytes = params * elementBytes(s.workload.precision);
    gather = linkSeconds(s, bytes, rankLayout(p, s.cluster).dpShard);
  }
  // Offloaded (CPU Adam), the optimizer leaves the GPU: nothing counted.
  const onGpu = p.offloadOptimizer === true ? 0 : Math.max(optimizer.smWork / peakFlops(s.cluster.gpu, s.workload.precision), optimizer.hbmWork / s.cluster.gpu.hbmBandwidth);
  return onGpu + gather;
}

/** The key of everything layerSeconds depends on that a layout changes. */
export function layerShapeKey(s: Scenario): string {
  const p = s.parallelism;
  return [p.tp, p.cp, p.ep, p.expertTp ?? "", p.microBatch, p.recompute, p.sequenceParallel, p.dp].join("/");
}
