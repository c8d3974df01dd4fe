/**
 * Rows an FP8 MoE layer adds to align each expert's token count for its grouped GEMM.
 *
 * Transformer Engine's FP8 grouped GEMM needs every expert's row count to be a multiple of 16
 * (32 under MXFP8): TE's Fp8Padding (transformer_engine/pytorch/module/fp8_padding.py,
 * 'the alignment size ... 32 for MXFP8 and 16 for others'). Megatron-Core reaches it one of three ways:
 * - TEGroupedMLP's Fp8Padding / Fp8Unpadding (megatron/core/transformer/moe/experts.py, core_v0.12.0
 *   and later): when any count is unaligned (a dropless layer, almost always), a copy of every
 *   received token into the padded layout before fc1 and back after fc2 (tex.fused_multi_row_padding
 *   / unpadding: one read and one write of the rows), mirrored in the backward; each expert's GEMMs
 *   gain (a − 1)/2 rows on average (its count's residue taken as uniform).
 * - --moe-router-padding-for-fp8 (--moe-router-padding-for-quantization; moe_utils.py
 *   pad_routing_map): each rank's routing map routes extra tokens so that its count per expert is a
 *   multiple of a: experts·(a − 1)/2 more copies per rank on average, sent through the all-to-all and
 *   computed like the others, no copies (TEGroupedMLP then skips its padding).
 * - DeepEP / HybridEP align the received tokens per local expert inside their permutation
 *   (HybridEP pad_multiple, token_dispatcher.py _HybridEPManager; DeepEP's dispatch expert_alignment):
 *   (a − 1)/2 rows per local expert, no separate copy. ASSUMPTION for DeepEP without router padding.
 * Padded to capacity, an aligned capacity needs nothing from Transformer Engine v2.3 on (Fp8Padding and
 * Fp8Unpadding return their input when every count is aligned: TE PR #1525, commit 4c9626e7e,
 * 2025-04-15). Up to v2.2 both copy unconditionally (transformer_engine/pytorch/module/fp8_padding.py and
 * fp8_unpadding.py at v2.2: tex.fused_multi_row_padding into a new tensor, torch.cat of the slices back),
 * and TEGroupedMLP calls them whenever config.fp8 (Megatron-Core core_v0.12.0 experts.py): the copies run
 * with no rows added (`workload.moe.fp8PadAlways`). Only Transformer Engine's FP8 recipes: BF16
 * grouped GEMMs and torchao's recipes have no such rule here.
 */
import type { MoeDispatch } from "../scenario.ts";
import type { Fp8Recipe } from "./fp8.ts";

export interface QuantPadding {
  /** Copies each rank adds to what it sends (and, balanced, receives): the router's padding. */
  routerCopies: number;
  /** Rows each local expert's GEMMs gain from aligning its count. */
  expertRows: number;
  /** TEGroupedMLP's padding copies run (forward pad and unpad, both mirrored in the backward). */
  copies: boolean;
  /** Megablox on a megacore chip: its TensorCores share each grouped matmul's output-column tiles (megablox-tiles.ts). */
  coreSplit?: { cores: number; tileCols: number };
}

export const NO_PADDING: QuantPadding = { routerCopies: 0, expertRows: 0, copies: false };

const TE_RECIPES: ReadonlySet<Fp8Recipe> = new Set(["delayed", "current", "mxfp8", "blockwise"]);

/** Rows an expert's FP8 grouped GEMM aligns to (TE Fp8Padding's default). */
export function fp8AlignRows(recipe: Fp8Recipe): number {
  return recipe === "mxfp8" ? 32 : 16;
}

export interface QuantPaddingInput {
  /** The run's FP8 recipe; undefined when the run is not FP8. */
  fp8Recipe: Fp8Recipe | undefined;
  routerPadding: boolean;
  dispatch: MoeDispatch;
  experts: number;
  ep: number;
  expertTp: number;
  /** Token copies one rank routes per micro-batch: its tokens over tp, times topK. */
  copiesPerRank: number;
  /** Padded to capacity with this capacity factor. */
  paddedCapacityFactor?: number;
  /** Transformer Engine up to v2.2: TEGroupedMLP's padding copies run even when every expert's count is aligned (workload.moe.fp8PadAlways). */
  padAlways?: boolean;
}

/** TEGroupedMLP's copies of aligned rows (Transformer Engine up to v2.2): nothing added to the GEMMs. */
const ALIGNED_COPIES: QuantPadding = { routerCopies: 0, expertRows: 0, copies: true };

export function quantPadding(x: QuantPaddingInput): QuantPadding {
  if (x.fp8Recipe === undefined || !TE_RECIPES.has(x.fp8Recipe)) return NO_PADDING;
  const a = fp8AlignRows(x.fp8Recipe);
  const mean = (a - 1) / 2;
  if (x.paddedCapacityFactor !== undefined) {
    // Every local expert receives capacity rows from each of the ep·expertTp ranks of its groups.
    const capacity = Math.ceil((x.copiesPerRank / x.experts) * x.paddedCapacityFactor);
    if ((capacity * x.ep * x.expertTp) % a === 0) return x.padAlways === true && x.dispatch !== "deepep" ? ALIGNED_COPIES : NO_PADDING;
    return x.dispatch === "deepep" ? { routerCopies: 0, expertRows: mean, copies: false } : { routerCopies: 0, expertRows: mean, copies: true };
  }
  if (x.routerPadding) return { routerCopies: x.experts * mean, expertRows: 0, copies: false };
  return x.dispatch === "deepep" ? { routerCopies: 0, expertRows: mean, copies: false } : { routerCopies: 0, expertRows: mean, copies: true };
}
