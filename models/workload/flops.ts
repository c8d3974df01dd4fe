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
import type { RecomputeMode, WorkloadSpec } from "../scenario.ts";
import { expertFfnOf, isMoe } from "./moe.ts";
import { activeMatrixParamsPerLayer } from "./params.ts";

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
  const tokens = w.globalBatch * w.seqLength;
  const attentionForward = m.layers * 4 * w.globalBatch * w.seqLength * w.seqLength * m.hidden;
  const layerForward = m.layers * 2 * tokens * activeMatrixParamsPerLayer(m) + attentionForward;
  const headForward = 2 * tokens * m.hidden * m.vocab;
  const hd = m.hidden / m.heads;
  const perOpRecompute = m.layers * 2 * tokens * (m.kvHeads * hd * m.hidden + m.heads * hd * m.hidden + m.topK * (isMoe(m) ? expertFfnOf(m) : m.ffn) * m.hidden);
  return { layerForward, attentionForward, headForward, perOpRecompute };
}

/** Model FLOPs per optimizer step (MFU numerator). */
export function modelFlopsPerStep(w: WorkloadSpec): number {
  const c = stepFlopCounts(w);
  return 3 * (c.layerForward + c.headForward);
}

/** Hardware FLOPs per step: model FLOPs plus what recomputation runs again. */
export function hardwareFlopsPerStep(w: WorkloadSpec, recompute: RecomputeMode): number {
  const c = stepFlopCounts(w);
  const extra = { none: 0, selective: c.attentionForward, full: c.layerForward, "per-op": c.perOpRecompute }[recompute];
  return modelFlopsPerStep(w) + extra;
}
