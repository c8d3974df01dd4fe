/**
 * The share of a layer's forward FLOPs a remat policy re-runs in backward (remat-policy.ts), for
 * hardware FLOPs: recompute full re-runs the whole forward, a policy only its rebuilt producers.
 */
import type { Scenario } from "../scenario.ts";
import { hardwareFlopsPerStep } from "./flops.ts";
import { layerForwardKernels, layerRecomputeKernels } from "./layer-kernels.ts";
import { layerShape } from "./memory.ts";

/** Re-run share of the layer forward's FLOPs under parallelism.remat; undefined without it. */
export function rematFlopShare(s: Scenario): number | undefined {
  if (s.parallelism.remat === undefined || s.parallelism.recompute !== "full") return undefined;
  const x = layerShape(s);
  const sum = (ks: readonly { flops: number }[]): number => ks.reduce((a, k) => a + k.flops, 0);
  const forward = sum(layerForwardKernels(x).kernels);
  return forward > 0 ? sum(layerRecomputeKernels(x, "full").kernels) / forward : 0;
}

/** A scenario's hardware FLOPs per step: model FLOPs plus what its recompute mode, modules or remat policy re-runs. */
export function stepHardwareFlops(s: Scenario): number {
  return hardwareFlopsPerStep(s.workload, s.parallelism.recompute, { modules: s.parallelism.recomputeModules, rematShare: rematFlopShare(s), perOpAttention: s.parallelism.perOpSavesAttention === false });
}
