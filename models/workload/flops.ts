/**
 * FLOP accounting for utilisation figures.
 *
 * Model FLOPs follow PaLM (Chowdhery et al. 2022, App. B) and Korthikanti et
 * al. 2022 (Eq. 7), which Llama 3 also reports MFU by: 3 × the forward matrix
 * FLOPs (forward + backward = 2 × forward), with attention counted over the full
 * s × s score matrix (2 matmuls of 2·b·s²·h), embeddings free, norms and
 * element-wise work ignored. For a dense GPT this is
 *     72·B·L·s·h²·(1 + s/(6h) + V/(12·h·L)).
 * Hardware FLOPs add the recomputed forward work; with full recompute this is
 * Narayanan et al. 2021 Eq. 3: 96·B·s·L·h²·(1 + s/(6h) + V/(16·L·h)).
 */
import type { RecomputeMode, RecomputeModule, WorkloadSpec } from "../scenario.ts";
import { recomputeModuleFlops } from "./recompute-modules.ts";
import { attentionCoreModelFlops, isLocalLayer } from "./attention-variants.ts";
import { activeMatrixParamsPerLayer, mtpProjectionParams } from "./params.ts";
import { attentionWidth, headDim } from "./head-dim.ts";
import { mlaDims } from "./mla.ts";
import { expertFfnOf, isMoe } from "./moe.ts";

export interface FlopCounts {
  /** Forward FLOPs of all transformer layers for one step. */
  layerForward: number;
  /** Forward FLOPs of the attention score and weighted-sum matmuls. */
  attentionForward: number;
  /** Forward FLOPs of the output projection. */
  headForward: number;
  /** Forward FLOPs of the matmuls per-op selective recompute runs again (K and output projections, up projection or fc2). */
  perOpRecompute: number;
}

export function stepFlopCounts(w: WorkloadSpec): FlopCounts {
  const m = w.model;
  if (mlaDims(m) !== undefined || m.slidingWindow !== undefined || (m.mtpLayers ?? 0) > 0) return variantFlopCounts(w);
  const tokens = w.globalBatch * w.seqLength;
  const attentionForward = m.layers * 4 * w.globalBatch * w.seqLength * w.seqLength * attentionWidth(m);
  const layerForward = m.layers * 2 * tokens * activeMatrixParamsPerLayer(m) + attentionForward;
  const headForward = 2 * tokens * m.hidden * m.vocab;
  const hd = headDim(m);
  const perOpRecompute = m.layers * 2 * tokens * (m.kvHeads * hd * m.hidden + m.heads * hd * m.hidden + m.topK * (isMoe(m) ? expertFfnOf(m) : m.ffn) * m.hidden);
  return { layerForward, attentionForward, headForward, perOpRecompute };
}

/**
 * The same counts with MLA (its projections' matrices, as DeepSeek-V2 Eq. 9–19 and Megatron-LM's
 * num_floating_point_operations count them, and QK/V head dims of the core), windowed layers
 * (attention-variants.ts) and multi-token prediction: each depth one more (global) layer, its
 * 2h → h projection and one more pass of the output head (Megatron-LM counts the MTP layers and
 * the extra logits the same way).
 */
function variantFlopCounts(w: WorkloadSpec): FlopCounts {
  const m = w.model;
  const tokens = w.globalBatch * w.seqLength;
  const mtp = m.mtpLayers ?? 0;
  let attentionForward = 0;
  for (let i = 0; i < m.layers; i++) attentionForward += attentionCoreModelFlops(m, w.globalBatch, w.seqLength, isLocalLayer(m, i));
  attentionForward += mtp * attentionCoreModelFlops(m, w.globalBatch, w.seqLength, false);
  const blocks = m.layers + mtp;
  // An MTP depth's block is a full (MoE, for a MoE model) layer, not the dense-first-layers average.
  const mtpBlock = mtp > 0 ? activeMatrixParamsPerLayer({ ...m, denseLayers: 0 }) : 0;
  const layerForward = 2 * tokens * (m.layers * activeMatrixParamsPerLayer(m) + mtp * mtpBlock) + mtp * 2 * tokens * mtpProjectionParams(m).sharded + attentionForward;
  const headForward = (1 + mtp) * 2 * tokens * m.hidden * m.vocab;
  // Per-op recompute: the key projection (MLA: the kv up projection), the output projection, the up projection.
  const mla = mlaDims(m);
  const hd = headDim(m);
  const k = mla !== undefined ? mla.kvLoraRank * m.heads * (mla.qkNopeHeadDim + mla.vHeadDim) : m.kvHeads * hd * m.hidden;
  const o = mla !== undefined ? m.heads * mla.vHeadDim * m.hidden : m.heads * hd * m.hidden;
  const perOpRecompute = blocks * 2 * tokens * (k + o + m.topK * (isMoe(m) ? expertFfnOf(m) : m.ffn) * m.hidden);
  return { layerForward, attentionForward, headForward, perOpRecompute };
}

/** Model FLOPs per optimizer step (MFU numerator). */
export function modelFlopsPerStep(w: WorkloadSpec): number {
  const c = stepFlopCounts(w);
  return 3 * (c.layerForward + c.headForward);
}

/**
 * Hardware FLOPs per step: model FLOPs plus what recomputation runs again. `how`: Megatron's
 * recompute modules (recompute selective), or a remat policy's re-run share of the layer
 * forward (recompute full; remat-flops.ts).
 */
export function hardwareFlopsPerStep(w: WorkloadSpec, recompute: RecomputeMode, how: { modules?: readonly RecomputeModule[]; rematShare?: number; perOpAttention?: boolean } = {}): number {
  const c = stepFlopCounts(w);
  if (recompute === "selective" && how.modules !== undefined) return modelFlopsPerStep(w) + recomputeModuleFlops(w.model, how.modules, w.globalBatch * w.seqLength, c.attentionForward);
  const perOp = c.perOpRecompute + (how.perOpAttention === true ? c.attentionForward : 0);
  const extra = recompute === "full" && how.rematShare !== undefined ? how.rematShare * c.layerForward : { none: 0, selective: c.attentionForward, full: c.layerForward, "per-op": perOp }[recompute];
  return modelFlopsPerStep(w) + extra;
}
