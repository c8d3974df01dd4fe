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
 * lognormal and zipf draw expected shares only: the sampling noise of a finite batch is part of
 * their `spread`. random is that noise alone: each token's k experts a uniform random k-subset,
 * as Megatron-Core's --moe-router-force-load-balancing routes (moe_utils.py apply_random_logits:
 * i.i.d. normal logits), so an expert's count over the EP group's T tokens of a micro-batch is
 * multinomial. It is the default of dropless routing: no router does better than chance per
 * micro-batch without a capacity, and the systematic part is unknown unless stated.
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

/** The routed tokens of one micro-batch that one EP group's experts share. */
export interface RoutedTokens {
  topK: number;
  /** Tokens routed over the EP group per micro-batch: ep ranks' tokens (each rank's mb·seq/(cp·tp/expertTp)). */
  tokensPerGroup: number;
}

/** Micro-batch draws averaged for random routing: enough that the mean busiest-rank factor is stable to ~0.1 % of its excess. */
export const RANDOM_ROUTING_DRAWS = 256;

/**
 * Per-expert loads (mean 1) of one micro-batch under uniform random top-k routing. A token adds
 * 1 to each of k distinct experts, so a count has variance T·(k/E)(1 − k/E) and two counts
 * covariance −T·k(E − k)/(E²(E − 1)); centred i.i.d. normals, 1 + s·(z_i − z̄) with
 * s² = E(E − k)/(T·k·(E − 1)), have exactly these moments (normal approximation of the counts).
 */
export function randomLoads(experts: number, routed: RoutedTokens, rng: RandomStream): Float64Array {
  const w = new Float64Array(experts);
  const k = Math.min(routed.topK, experts);
  if (experts <= k || !(routed.tokensPerGroup > 0)) return w.fill(1);
  const s = Math.sqrt((experts * (experts - k)) / (routed.tokensPerGroup * k * (experts - 1)));
  let mean = 0;
  for (let i = 0; i < experts; i++) mean += w[i] = rng.normal(0, 1);
  mean /= experts;
  for (let i = 0; i < experts; i++) w[i] = Math.max(0, 1 + s * ((w[i] as number) - mean));
  return w;
}

/** Per-expert loads r_i (mean 1) of one layer. */
export function expertLoads(experts: number, imbalance: MoeRoutingSpec["imbalance"], rng: RandomStream): Float64Array {
  const w = new Float64Array(experts);
  if (imbalance.distribution === "balanced" || imbalance.distribution === "random" || !(imbalance.spread > 0)) return w.fill(1);
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

/**
 * The routing load of a model's MoE layers (spec absent: dropless, random). lognormal and zipf:
 * one seeded draw per layer, averaged; random: RANDOM_ROUTING_DRAWS micro-batch draws, averaged.
 */
export function routingLoad(experts: number, ep: number, moeLayers: number, spec: MoeRoutingSpec | undefined, seed: number, routed: RoutedTokens): RoutingLoad {
  if (experts <= 1 || moeLayers <= 0) return BALANCED_LOAD;
  // perf P42: pure in its inputs and asked for by every layout a plan checks; drawn once per input.
  const key = JSON.stringify([experts, ep, moeLayers, spec ?? null, seed, routed.topK, routed.tokensPerGroup]);
  const known = LOADS.get(key);
  if (known !== undefined) return known;
  if (LOADS.size >= 4096) LOADS.clear();
  const load = drawnLoad(experts, ep, moeLayers, spec, seed, routed);
  LOADS.set(key, load);
  return load;
}

const LOADS = new Map<string, RoutingLoad>();

function drawnLoad(experts: number, ep: number, moeLayers: number, spec: MoeRoutingSpec | undefined, seed: number, routed: RoutedTokens): RoutingLoad {
  if (spec?.padToCapacity === true && spec.capacityFactor !== undefined) return paddedLoad(spec.capacityFactor);
  const imbalance = spec?.imbalance ?? { distribution: "random", spread: 0 };
  const random = imbalance.distribution === "random";
  // One rank holding every expert carries exactly the mean of centred draws: skip the float noise.
  if (random && ep <= 1 && spec?.capacityFactor === undefined) return BALANCED_LOAD;
  const rng = new RandomStreams(seed).stream("moe-routing");
  const draws = random ? RANDOM_ROUTING_DRAWS : moeLayers;
  let factor = 0;
  let kept = 0;
  for (let l = 0; l < draws; l++) {
    const loads = random ? randomLoads(experts, routed, rng) : expertLoads(experts, imbalance, rng);
    const load = layerLoad(loads, ep, spec?.capacityFactor);
    factor += load.rankFactor;
    kept += load.keptShare;
  }
  return { rankFactor: factor / draws, keptShare: kept / draws };
}
