/**
 * Parameter counts, split the way parallelism splits them.
 */
import type { ModelSpec } from "../scenario.ts";
import { headDim } from "./head-dim.ts";
import { mlaDims, mlaMatrixParams, mlaParams } from "./mla.ts";

export interface LayerParams {
  attention: number;
  /** One expert's (or the dense) MLP. */
  mlpPerExpert: number;
  router: number;
  /** Weights replicated across tensor ranks: the norms, and under MLA the down projections and latent norms (Megatron-Core builds them duplicated). */
  norms: number;
}

export function layerParams(m: ModelSpec): LayerParams {
  const hd = headDim(m);
  const qkv = m.hidden * (m.heads + 2 * m.kvHeads) * hd;
  const proj = m.heads * hd * m.hidden;
  const gate = m.gatedMlp ? 2 : 1;
  const mlp = m.hidden * m.ffn * gate + m.ffn * m.hidden;
  const biases = m.bias ? { attn: (m.heads + 2 * m.kvHeads) * hd + m.hidden, mlp: m.ffn * gate + m.hidden } : { attn: 0, mlp: 0 };
  const mla = mlaDims(m);
  if (mla !== undefined) {
    const a = mlaParams(m, mla);
    return { attention: a.sharded, mlpPerExpert: mlp + biases.mlp, router: m.experts > 1 ? m.hidden * m.experts : 0, norms: 2 * m.hidden * (m.bias ? 2 : 1) + a.duplicatedMatrices + a.latentNorms };
  }
  return {
    attention: qkv + proj + biases.attn,
    mlpPerExpert: mlp + biases.mlp,
    router: m.experts > 1 ? m.hidden * m.experts : 0,
    norms: 2 * m.hidden * (m.bias ? 2 : 1),
  };
}

export function paramsPerLayer(m: ModelSpec): number {
  const p = layerParams(m);
  return p.attention + p.mlpPerExpert * m.experts + p.router + p.norms;
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
  return m.layers * paramsPerLayer(m) + embeddingParams(m) + headParams(m) + mtpParams(m);
}

/** Parameters a token passes through (MoE: only topK experts), for FLOP counting. */
export function activeMatrixParamsPerLayer(m: ModelSpec): number {
  const hd = headDim(m);
  const gate = m.gatedMlp ? 2 : 1;
  const mla = mlaDims(m);
  const attention = mla !== undefined ? mlaMatrixParams(m, mla) : m.hidden * (m.heads + 2 * m.kvHeads) * hd + m.heads * hd * m.hidden;
  return attention + m.topK * (m.hidden * m.ffn * gate + m.ffn * m.hidden) + (m.experts > 1 ? m.hidden * m.experts : 0);
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
