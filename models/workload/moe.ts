/**
 * Mixture-of-experts shape: which layers are MoE, the routed and shared experts' sizes, and
 * how a layer's parameters split between what expert parallelism shards and what it does not.
 *
 * Conventions (Megatron-Core MoE, DeepSeek-V3's and Qwen3-MoE's HF configs): a MoE layer has
 * `experts` routed experts of inner size expertFfn (HF moe_intermediate_size), of which each
 * token uses topK, plus `sharedExperts` always-active experts of the same size (DeepSeek's
 * n_shared_experts; Megatron-Core runs them as one dense MLP of sharedExperts·expertFfn,
 * --moe-shared-expert-intermediate-size). The first `denseLayers` layers are dense MLPs of the
 * model's `ffn` (DeepSeek-V3 first_k_dense_replace 3, intermediate_size 18432). A dense model
 * (experts 1) is unaffected by any of these.
 */
import type { DeepepRouting } from "../collectives/deepep.ts";
import type { ModelSpec } from "../scenario.ts";

export function isMoe(m: ModelSpec): boolean {
  return m.experts > 1;
}

/** Inner size of one routed (and shared) expert. */
export function expertFfnOf(m: ModelSpec): number {
  return m.expertFfn ?? m.ffn;
}

export function sharedExpertsOf(m: ModelSpec): number {
  return isMoe(m) ? (m.sharedExperts ?? 0) : 0;
}

/** Dense layers at the front of a MoE model (0 for a dense model: its layers are all of one kind). */
export function denseLayersOf(m: ModelSpec): number {
  return isMoe(m) ? Math.min(m.layers, m.denseLayers ?? 0) : 0;
}

export function moeLayersOf(m: ModelSpec): number {
  return isMoe(m) ? m.layers - denseLayersOf(m) : 0;
}

/** The shape a dense first layer of a MoE model has: a plain MLP of the model's ffn. */
export function denseLayerModel(m: ModelSpec): ModelSpec {
  const { expertFfn: _e, sharedExperts: _s, denseLayers: _d, routerScoring: _r, expertGroups: _g, expertGroupsPerToken: _t, ...rest } = m;
  return { ...rest, experts: 1, topK: 1 };
}

/**
 * Layers of each virtual stage split into the dense ones (at the front of the model, so on the
 * first stages) and the MoE ones. Virtual stage v holds the layers after those of stages < v.
 */
export function denseLayersPerStage(m: ModelSpec, split: readonly number[]): number[] {
  const dense = denseLayersOf(m);
  let start = 0;
  return split.map((L) => {
    const d = Math.max(0, Math.min(L, dense - start));
    start += L;
    return d;
  });
}

/** A token's routing as the dispatch sees it: topK copies, within expertGroupsPerToken of expertGroups groups if the model limits it. */
export function deepepRouting(m: ModelSpec): DeepepRouting {
  const count = m.expertGroups;
  const perToken = m.expertGroupsPerToken;
  return count !== undefined && perToken !== undefined && count > 1 ? { topK: m.topK, groups: { count, perToken } } : { topK: m.topK };
}
