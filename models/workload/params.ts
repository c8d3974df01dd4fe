/**
 * Parameter counts, split the way parallelism splits them.
 */
import type { ModelSpec } from "../scenario.ts";

export interface LayerParams {
  attention: number;
  /** One expert's (or the dense) MLP. */
  mlpPerExpert: number;
  router: number;
  /** Norm weights (replicated across tensor ranks). */
  norms: number;
}

export function layerParams(m: ModelSpec): LayerParams {
  const hd = m.hidden / m.heads;
  const qkv = m.hidden * (m.heads + 2 * m.kvHeads) * hd;
  const proj = m.heads * hd * m.hidden;
  const gate = m.gatedMlp ? 2 : 1;
  const mlp = m.hidden * m.ffn * gate + m.ffn * m.hidden;
  const biases = m.bias ? { attn: (m.heads + 2 * m.kvHeads) * hd + m.hidden, mlp: m.ffn * gate + m.hidden } : { attn: 0, mlp: 0 };
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

export function totalParams(m: ModelSpec): number {
  return m.layers * paramsPerLayer(m) + embeddingParams(m) + headParams(m);
}

/** Parameters a token passes through (MoE: only topK experts), for FLOP counting. */
export function activeMatrixParamsPerLayer(m: ModelSpec): number {
  const hd = m.hidden / m.heads;
  const gate = m.gatedMlp ? 2 : 1;
  return m.hidden * (m.heads + 2 * m.kvHeads) * hd + m.heads * hd * m.hidden + m.topK * (m.hidden * m.ffn * gate + m.ffn * m.hidden) + (m.experts > 1 ? m.hidden * m.experts : 0);
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
