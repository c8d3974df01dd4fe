/**
 * Sliding-window attention and which layers use it (Mistral 7B: every layer, a 4096-token
 * window, arXiv 2310.06825 §2; Gemma 2: local and global layers alternating, arXiv 2408.00118
 * §2; Gemma 3: five local layers to each global one, arXiv 2503.19786 §2.1), and the
 * attention-core FLOPs per layer that follow, for any head dims (MLA's differ for QK and V).
 */
import type { ModelSpec } from "../scenario.ts";
import { headDim } from "./head-dim.ts";
import { mlaDims } from "./mla.ts";

/** True when layer i (0-based) attends within the sliding window. */
export function isLocalLayer(m: ModelSpec, i: number): boolean {
  if (m.slidingWindow === undefined) return false;
  const n = m.slidingWindowPattern;
  return n === undefined || (i + 1) % n !== 0;
}

/** Local (windowed) layers among layers start … start+count−1. */
export function localLayerCount(m: ModelSpec, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) if (isLocalLayer(m, i)) n++;
  return n;
}

/** The window a layer's keys are limited to, when it is shorter than the sequence. */
export function effectiveWindow(m: ModelSpec, seqLength: number): number | undefined {
  return m.slidingWindow !== undefined && m.slidingWindow < seqLength ? m.slidingWindow : undefined;
}

/**
 * Share of the s×s score matrix a causal flash kernel with a window of w keys visits, by
 * `block`-square tiles: query block i covers rows i·B … i·B+B−1, row r sees keys r−w+1 … r,
 * so the kernel loads key blocks ⌊max(0, i·B−w+1)/B⌋ … i (FlashAttention-2's window_size
 * skips the blocks wholly outside it). Without a window this is (nb+1)/(2·nb).
 */
export function windowBlockFraction(seq: number, window: number, block: number): number {
  const nb = Math.ceil(seq / block);
  let visited = 0;
  for (let i = 0; i < nb; i++) visited += i - Math.floor(Math.max(0, i * block - window + 1) / block) + 1;
  return visited / (nb * nb);
}

/** Query·key widths per head of the score and weighted-sum matmuls: [QK, V]. */
export function attentionHeadDims(m: ModelSpec): [number, number] {
  const d = mlaDims(m);
  const hd = headDim(m);
  return d === undefined ? [hd, hd] : [d.qkHeadDim, d.vHeadDim];
}

/**
 * Forward FLOPs of one layer's attention core for `sequences` sequences by the model-FLOPs
 * convention (PaLM App. B, Korthikanti et al. Eq. 7: every query against every key of a
 * non-causal layer, 2·s·keys·heads·(dQK + dV)); a windowed layer by the same convention
 * counts each query against the min(w, s) keys of its window. No published MFU convention
 * for windowed layers was found; this one keeps w ≥ s equal to the global count.
 */
export function attentionCoreModelFlops(m: ModelSpec, sequences: number, seq: number, local: boolean): number {
  const [qk, v] = attentionHeadDims(m);
  const keys = local && m.slidingWindow !== undefined ? Math.min(m.slidingWindow, seq) : seq;
  return 2 * sequences * seq * keys * m.heads * (qk + v);
}
