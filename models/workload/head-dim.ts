/**
 * Width of one attention head. Most models use hidden/heads; Qwen3 (hidden 4096, 32 query heads
 * × 128 in the 8B, 64 × 128 in the 32B over hidden 5120), Gemma (7B: hidden 3072, 16 heads ×
 * 256) and synthetic shapes set it on its own (HF config.json `head_dim`). The Q/K/V projections
 * map hidden → heads·headDim and kvHeads·headDim, the output projection heads·headDim → hidden.
 */
import type { ModelSpec } from "../scenario.ts";

export function headDim(m: ModelSpec): number {
  return m.headDim ?? m.hidden / m.heads;
}

/** Width of the concatenated heads (query or attention output): heads·headDim, hidden by default. */
export function attentionWidth(m: ModelSpec): number {
  return m.headDim === undefined ? m.hidden : m.heads * m.headDim;
}
