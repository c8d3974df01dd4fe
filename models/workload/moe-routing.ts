/**
 * How routed tokens load the experts, and what that costs the layer.
 *
 * Each MoE layer draws per-expert load shares from the configured distribution on the seeded
 * stream "moe-routing" (one draw per MoE layer, so a model's layers differ as a trained router's
 * do). An expert's load r_i is its share as a multiple of the balanced one (1 = T·topK/experts).
 * With a capacity factor c an expert keeps at most c of it and drops the rest (Switch
 * Transformer, Fedus et al. 2022 §2.2: expert capacity = tokens/experts × capacity factor;
 * Megatron-Core --moe-expert-capacity-factor drops the overflow, without padding unless
 * --moe-pad-expert-input-to-capacity); without one, routing is dropless (Megatron-Core's default).
 *
 * An EP rank runs its local experts' tokens in one grouped GEMM and the combine all-to-all waits
 * for every rank, so the busiest rank gates the layer: its expert GEMMs, permutes and received
 * tokens scale by max over ranks of its local experts' mean load (with one expert per rank, the
 * busiest expert). Megatron-Core's MoE paper (Yan et al. 2025, arXiv 2504.14960, §4 on load
 * imbalance) describes the same straggler effect of unbalanced routing under expert parallelism.
 *
 * Only the expected shares are drawn: the sampling noise of a finite batch is part of `spread`.
 */
import { RandomStreams, type RandomStream } from "../../sim/random.ts";
import type { MoeRoutingSpec } from "../scenario.ts";

export interface RoutingLoad {
  /** The busiest EP rank's routed tokens over a balanced rank's, averaged over the MoE layers. */
  rankFactor: number;
  /** Share of the routed token copies kept (1 without a capacity factor), averaged over the MoE layers. */
  keptShare: number;
}

export const BALANCED_LOAD: RoutingLoad = { rankFactor: 1, keptShare: 1 };

/** Per-expert loads r_i (mean 1) of one layer. */
export function expertLoads(experts: number, imbalance: MoeRoutingSpec["imbalance"], rng: RandomStream): Float64Array {
  const w = new Float64Array(experts);
  if (imbalance.distribution === "balanced" || !(imbalance.spread > 0)) return w.fill(1);
  if (imbalance.distribution === "lognormal") {
    for (let i = 0; i < experts; i++) w[i] = Math.exp(imbalance.spread * rng.normal(0, 1));
  } else {
    // Zipf: the expert of popularity rank k gets 1/k^s; which expert is which rank is a seeded shuffle.
    const order = Array.from({ length: experts }, (_, i) => i);
    for (let i = experts - 1; i > 0; i--) {
      const j = rng.int(0, i + 1);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    order.forEach((expert, k) => (w[expert] = 1 / Math.pow(k + 1, imbalance.spread)));
  }
  let sum = 0;
  for (const v of w) sum += v;
  for (let i = 0; i < experts; i++) w[i] = ((w[i] as number) * experts) / sum;
  return w;
}

/** One layer's gating factor and kept share from its expert loads; experts are laid out in ep contiguous blocks. */
export function layerLoad(loads: Float64Array, ep: number, capacityFactor?: number): RoutingLoad {
  const experts = loads.length;
  const local = experts / ep;
  const cap = capacityFactor ?? Infinity;
  let busiest = 0;
  let kept = 0;
  for (let r = 0; r < ep; r++) {
    let rank = 0;
    for (let i = r * local; i < (r + 1) * local; i++) rank += Math.min(loads[i] as number, cap);
    kept += rank;
    busiest = Math.max(busiest, rank / local);
  }
  return { rankFactor: busiest, keptShare: kept / experts };
}

/**
 * Padded to capacity (Megatron-Core --moe-pad-expert-input-to-capacity, token_dispatcher.py
 * preprocess with drop_and_pad): every expert receives exactly capacity = c × its balanced share
 * from every rank, its overflow dropped and its shortfall filled with zero-probability rows, so
 * every rank computes and exchanges c × the balanced copies whatever the routing.
 */
export function paddedLoad(capacityFactor: number): RoutingLoad {
  return { rankFactor: capacityFactor, keptShare: capacityFactor };
}

/** The routing load of a model's MoE layers: one seeded draw per layer, averaged. */
export function routingLoad(experts: number, ep: number, moeLayers: number, spec: MoeRoutingSpec | undefined, seed: number): RoutingLoad {
  if (spec === undefined || experts <= 1 || moeLayers <= 0) return BALANCED_LOAD;
  if (spec.padToCapacity === true && spec.capacityFactor !== undefined) return paddedLoad(spec.capacityFactor);
  const rng = new RandomStreams(seed).stream("moe-routing");
  let factor = 0;
  let kept = 0;
  for (let l = 0; l < moeLayers; l++) {
    const load = layerLoad(expertLoads(experts, spec.imbalance, rng), ep, spec.capacityFactor);
    factor += load.rankFactor;
    kept += load.keptShare;
  }
  return { rankFactor: factor / moeLayers, keptShare: kept / moeLayers };
}
