/**
 * A pipeline chunk's transformer layers by kind: a MoE model's dense first layers or its main
 * (MoE, or dense) layers, each with sliding-window or global attention. Each kind has its own
 * kernel lists and gradient bytes per rank; a chunk compiles each kind once, repeated over its
 * layers of that kind (the order of layers within a chunk changes no resource's total).
 */
import { effectiveWindow, isLocalLayer } from "../workload/attention-variants.ts";
import { layerBackwardKernels, layerForwardKernels, layerRecomputeKernels, type KernelList, type LayerShape } from "../workload/layer-kernels.ts";
import { denseLayerShape } from "../workload/memory.ts";
import { denseLayersOf } from "../workload/moe.ts";
import type { ModelSpec, RecomputeMode } from "../scenario.ts";

export interface LayerKind {
  fwd: KernelList;
  bwd: KernelList;
  rec: KernelList;
  /** Parameters of one such layer held by one rank. */
  paramsPerRank: number;
  /** Gradient bytes one such layer hands to the data-parallel reduction, and the routed experts' share of them. */
  gradBytes: number;
  expertGradBytes: number;
}

export interface LayerParamsPerRank {
  /** A main-kind layer: everything but the routed experts, and the routed experts. */
  main: { dense: number; expert: number };
  /** A MoE model's dense first layer. */
  dense: number;
}

export interface LayerKinds {
  /** The main kind with global attention (multi-token-prediction blocks are of this kind). */
  main: LayerKind;
  /** The kind of model layer i (0-based). */
  of(i: number): LayerKind;
  /** Kinds among model layers start … start+n−1 with their counts: dense first layers first (forward order). */
  counts(start: number, n: number): [LayerKind, number][];
}

export function layerKinds(model: ModelSpec, shape: LayerShape, recompute: RecomputeMode, params: LayerParamsPerRank, gradBytes: number): LayerKinds {
  const kind = (x: LayerShape, paramsPerRank: number, expert: number): LayerKind => ({
    fwd: layerForwardKernels(x),
    bwd: layerBackwardKernels(x),
    rec: layerRecomputeKernels(x, recompute),
    paramsPerRank,
    gradBytes: paramsPerRank * gradBytes,
    expertGradBytes: expert * gradBytes,
  });
  const main = kind(shape, params.main.dense + params.main.expert, params.main.expert);
  const denseLayers = denseLayersOf(model);
  const window = effectiveWindow(model, shape.seqLength);
  // Built on first use: a dense model without a window only ever has `main`.
  const built = new Map<number, LayerKind>([[0, main]]);
  const get = (dense: boolean, local: boolean): LayerKind => {
    const key = (dense ? 2 : 0) + (local ? 1 : 0);
    let k = built.get(key);
    if (k === undefined) {
      const base = dense ? denseLayerShape(shape) : shape;
      k = kind(local ? { ...base, window } : base, dense ? params.dense : main.paramsPerRank, dense ? 0 : params.main.expert);
      built.set(key, k);
    }
    return k;
  };
  const of = (i: number): LayerKind => get(i < denseLayers, window !== undefined && isLocalLayer(model, i));
  const counts = (start: number, n: number): [LayerKind, number][] => {
    if (denseLayers === 0 && window === undefined) return n > 0 ? [[main, n]] : [];
    const tally = new Map<LayerKind, number>();
    for (let i = start; i < start + n; i++) {
      const k = of(i);
      tally.set(k, (tally.get(k) ?? 0) + 1);
    }
    return [...tally.entries()];
  };
  return { main, of, counts };
}
