/**
 * Parameter counts, split the way parallelism splits them.
 */
import type { ModelSpec, ParallelPlan } from "../scenario.ts";
import { headDim } from "./head-dim.ts";
import { mlaDims, mlaMatrixParams, mlaParams } from "./mla.ts";
import { denseLayerModel, denseLayersOf, expertFfnOf, isMoe, sharedExpertsOf } from "./moe.ts";

export interface LayerParams {
  attention: number;
  /** One routed expert's (or the dense) MLP. */
  mlpPerExpert: number;
  /** MoE: the shared experts' MLPs together (sharedExperts × one expert); 0 otherwise. */
  shared: number;
  router: number;
  /** Weights replicated across tensor ranks: the norms, and under MLA the down projections and latent norms (Megatron-Core builds them duplicated). */
  norms: number;
}

export function layerParams(m: ModelSpec): LayerParams {
  const hd = headDim(m);
  const qkv = m.hidden * (m.heads + 2 * m.kvHeads) * hd;
  const proj = m.heads * hd * m.hidden;
  const gate = m.gatedMlp ? 2 : 1;
  const ffn = isMoe(m) ? expertFfnOf(m) : m.ffn;
  const mlp = m.hidden * ffn * gate + ffn * m.hidden;
  const biases = m.bias ? { attn: (m.heads + 2 * m.kvHeads) * hd + m.hidden, mlp: ffn * gate + m.hidden } : { attn: 0, mlp: 0 };
  const mla = mlaDims(m);
  const a = mla !== undefined ? mlaParams(m, mla) : undefined;
  return {
    attention: a !== undefined ? a.sharded : qkv + proj + biases.attn,
    mlpPerExpert: mlp + biases.mlp,
    shared: sharedExpertsOf(m) * (mlp + biases.mlp),
    router: m.experts > 1 ? m.hidden * m.experts : 0,
    norms: 2 * m.hidden * (m.bias ? 2 : 1) + (a !== undefined ? a.duplicatedMatrices + a.latentNorms : 0),
  };
}

/** Parameters of one layer (a MoE layer of a MoE model). */
export function paramsPerLayer(m: ModelSpec): number {
  const p = layerParams(m);
  return p.attention + p.mlpPerExpert * m.experts + p.shared + p.router + p.norms;
}

/** Parameters of all transformer layers: MoE layers and a MoE model's dense first layers. */
export function layerStackParams(m: ModelSpec): number {
  const dense = denseLayersOf(m);
  return (m.layers - dense) * paramsPerLayer(m) + dense * paramsPerLayer(denseLayerModel(m));
}

/**
 * Parameters of one layer held by one rank: routed experts (sharded by ep and expertTp; Megatron-Core
 * keeps their gradients and optimizer state on the expert data-parallel group, tp·dp·cp/(ep·expertTp) ranks)
 * and the rest (attention, shared experts, router, norms; router and norms replicated over tp).
 */
export function layerParamsPerRank(m: ModelSpec, p: Pick<ParallelPlan, "tp" | "ep" | "expertTp">): { dense: number; expert: number; linear: number } {
  const lp = layerParams(m);
  if (!isMoe(m)) {
    // A dense layer (also a MoE model's dense first layers) is not split by ep.
    const linear = (lp.attention + lp.mlpPerExpert) / p.tp;
    return { dense: linear + lp.router + lp.norms, expert: 0, linear };
  }
  const expert = (lp.mlpPerExpert * m.experts) / (p.ep * (p.expertTp ?? p.tp));
  return { dense: (lp.attention + lp.shared) / p.tp + lp.router + lp.norms, expert, linear: (lp.attention + lp.shared) / p.tp + expert };
}

export function embeddingParams(m: ModelSpec): number {
  return m.vocab * m.hidden + m.positionEmbeddings * m.hidden;
}

export function headParams(m: ModelSpec): number {
  return (m.tiedEmbeddings ? 0 : m.vocab * m.hidden) + m.hidden * (m.bias ? 2 : 1);
}

/**
 * One multi-token-prediction depth's own weights besides its transformer block (DeepSeek-V3
 * §2.2: the embedding and output head are shared with the main model): the projection M of
 * the concatenated [RMSNorm(h); RMSNorm(emb)] (2h → h), split over tensor ranks, and three
 * RMSNorms (the two inputs' and the shared head's own final norm, as the HF checkpoint's
 * enorm, hnorm and shared_head.norm), replicated.
 */
export function mtpProjectionParams(m: ModelSpec): { sharded: number; norms: number } {
  return { sharded: 2 * m.hidden * m.hidden, norms: 3 * m.hidden };
}

/** All multi-token-prediction weights (mtpLayers depths: block + projection + norms). */
export function mtpParams(m: ModelSpec): number {
  const n = m.mtpLayers ?? 0;
  if (n === 0) return 0;
  const p = mtpProjectionParams(m);
  return n * (paramsPerLayer(m) + p.sharded + p.norms);
}

/**
 * Every trained weight, the multi-token-prediction modules' included (their shared embedding
 * and head once: DeepSeek-V3's release stores 671B main-model + 14B MTP weights, the latter
 * with copies of the embedding and head).
 */
export function totalParams(m: ModelSpec): number {
  return layerStackParams(m) + embeddingParams(m) + headParams(m) + mtpParams(m);
}

/**
 * Matrix parameters a token passes through in one layer (MoE: its topK routed experts, the
 * shared experts and the router), for FLOP counting; averaged over the layers when a MoE
 * model's first layers are dense.
 */
export function activeMatrixParamsPerLayer(m: ModelSpec): number {
  const dense = denseLayersOf(m);
  if (dense === 0) return activeMatrixParams(m);
  return ((m.layers - dense) * activeMatrixParams(m) + dense * activeMatrixParams(denseLayerModel(m))) / m.layers;
}

function activeMatrixParams(m: ModelSpec): number {
  const hd = headDim(m);
  const gate = m.gatedMlp ? 2 : 1;
  const ffn = isMoe(m) ? expertFfnOf(m) : m.ffn;
  const mlp = m.hidden * ffn * gate + ffn * m.hidden;
  const mla = mlaDims(m);
  const attention = mla !== undefined ? mlaMatrixParams(m, mla) : m.hidden * (m.heads + 2 * m.kvHeads) * hd + m.heads * hd * m.hidden;
  return attention + (m.topK + sharedExpertsOf(m)) * mlp + (m.experts > 1 ? m.hidden * m.experts : 0);
}

/**
 * The vocabulary as Megatron-LM pads it (--make-vocab-size-divisible-by, default 128):
 * up to a multiple of divisibleBy × tp, so each tensor rank holds an equal, aligned slice
 * of the embedding and output layer. GPT-2/3's 50,257 becomes 51,200 at tp 8, 50,688 at tp 4.
 */
export function paddedVocab(vocab: number, divisibleBy: number, tp: number): number {
  const multiple = divisibleBy * tp;
  return Math.ceil(vocab / multiple) * multiple;
}
