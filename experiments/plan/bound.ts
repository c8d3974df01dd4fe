/**
 * A cheap lower bound on a layout's step time, to skip simulating layouts that cannot beat
 * the ones already simulated. Only the transformer layers' kernels count (embedding, output
 * layer, optimizer and every collective are left out), each at the rate it reaches alone on
 * an idle GPU at full clock: the fluid model never runs a kernel faster than that, and two
 * kernels on one GPU share its SMs and HBM, so a rank is busy at least max(Σ SM work / peak,
 * Σ HBM work / bandwidth). Then the pipeline: rank r starts only once the first micro-batch's
 * forward has passed the virtual stages before it, and the step ends only once the last
 * micro-batch's backward has passed them again.
 */
import { kernelCost, peakFlops } from "../../models/compute/kernel.ts";
import { microBatchesPerStep } from "../../models/parallel/plan.ts";
import { layersPerVirtualStage } from "../../models/parallel/stages.ts";
import type { Scenario } from "../../models/scenario.ts";
import { layerBackwardKernels, layerForwardKernels, layerRecomputeKernels, type StreamCollective } from "../../models/workload/layer-kernels.ts";
import type { Kernel } from "../../models/compute/kernel.ts";
import { layerShape } from "../../models/workload/memory.ts";

/** Seconds one layer's kernels keep a GPU busy at the least, forward and backward (recompute included). */
export interface LayerSeconds {
  forward: number;
  backward: number;
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

/** One transformer layer of one micro-batch on one GPU. */
export function layerSeconds(s: Scenario): LayerSeconds {
  const x = layerShape(s);
  const fwd = layerForwardKernels(x);
  const rec = layerRecomputeKernels(x, s.parallelism.recompute);
  const bwd = layerBackwardKernels(x);
  const forward = busySeconds(fwd.kernels, s) + exposedTpSeconds(fwd.collectives, s);
  const backward = busySeconds([...rec.kernels, ...bwd.kernels], s) + exposedTpSeconds([...rec.collectives, ...bwd.collectives], s);
  return { forward, backward };
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
  let best = 0;
  // Layers of virtual stages before rank r's first chunk: the fill and drain it waits for.
  let before = 0;
  for (let r = 0; r < p.pp; r++) {
    let own = 0;
    for (let v = r; v < split.length; v += p.pp) own += split[v] as number;
    best = Math.max(best, micro * own * perLayer + before * perLayer);
    before += split[r] as number;
  }
  return best;
}

/** The key of everything layerSeconds depends on that a layout changes. */
export function layerShapeKey(s: Scenario): string {
  const p = s.parallelism;
  return [p.tp, p.cp, p.ep, p.expertTp ?? "", p.microBatch, p.recompute, p.sequenceParallel, p.dp].join("/");
}
