/**
 * Dao's FlashAttention kernels are compiled for a fixed set of head dimensions; a head dimension
 * between two runs the next larger kernel, which loads the missing columns as zeros and computes
 * them (the tile's MMAs span the compiled head dimension), so its math costs the padded width.
 * - FlashAttention-2 (Dao-AILab/flash-attention 4f285b35, the v2.0 release, 2023-07-17:
 *   csrc/flash_attn/flash_api.cpp rounds the head size up to a multiple of 32 and
 *   src/static_switch.h HEADDIM_SWITCH dispatches 32, 64, 96, ..., 256): head dim 80 runs the
 *   96 kernel. (Later releases drop 224, 751c762c 2024-07, and 160, ce212720 2025-04: those then run
 *   the next kernel up; the grid of the release is kept, the era of the catalog's FA2 levels.)
 * - FlashAttention 1 (the same repository at 4a6eaa9f, 2022-11-29, csrc/flash_attn/fmha_api.cpp
 *   run_fmha_fwd and run_fmha_bwd: kernels for head dims 32, 64 and 128 only, d <= 128): head dim
 *   96 runs the 128 kernel.
 * cuDNN's fused attention and non-NVIDIA kernels are left unpadded (no grid known), but for TPU:
 * its MXU multiplies 128x128 weight tiles, so every head dim is tiled by 128 and a partial tile
 * costs a whole one (How to Scale Your Model, tpus.md). JAX's splash attention keeps the query/key
 * head dim apart from the value one (splash_attention_kernel.py head_dim_qk, head_dim_v): MLA's
 * 192/128 computes as 256/128.
 */
import type { Accelerator } from "../hardware/types.ts";

/** FlashAttention-2's compiled head dims (multiples of 32 up to 256). */
export const FA2_HEAD_DIMS: readonly number[] = [32, 64, 96, 128, 160, 192, 224, 256];
/** FlashAttention 1's compiled head dims (fmha_fwd_hdim32/64/128.cu). */
export const FA1_HEAD_DIMS: readonly number[] = [32, 64, 128];

/** The head dims `gpu`'s attention kernel is compiled for; undefined when it takes any (cuDNN, other vendors). */
function headDimGrid(gpu: Pick<Accelerator, "vendor" | "attentionBackend">): readonly number[] | undefined {
  if (gpu.vendor !== "NVIDIA") return undefined;
  const backend = gpu.attentionBackend ?? "flash-attention";
  return backend === "flash-attention" ? FA2_HEAD_DIMS : backend === "flash-attention-1" ? FA1_HEAD_DIMS : undefined;
}

/** The compiled head dimension a head of `headDim` runs on `gpu`'s attention kernel (itself when no grid applies). */
export function kernelHeadDim(gpu: Pick<Accelerator, "vendor" | "attentionBackend">, headDim: number): number {
  // Past the largest kernel there is none to pad to: leave the head as it is.
  return headDimGrid(gpu)?.find((d) => d >= headDim) ?? headDim;
}

/**
 * Factor (>= 1) by which the padded head dims inflate an attention kernel's math: QKᵀ over the
 * query/key head dim and PV over the value head dim, both padded to the one kernel that takes the
 * larger (FlashAttention keeps one head dimension for Q, K and V).
 */
export function headDimPadding(gpu: Pick<Accelerator, "vendor" | "attentionBackend" | "matrixUnitDim">, qkHeadDim: number, vHeadDim: number): number {
  const mxu = gpu.matrixUnitDim;
  if (mxu !== undefined) return (Math.ceil(qkHeadDim / mxu) * mxu + Math.ceil(vHeadDim / mxu) * mxu) / (qkHeadDim + vHeadDim);
  // cuDNN takes its head dims as given, the query/key one apart from the value one (MLA's 192/128).
  if (headDimGrid(gpu) === undefined) return 1;
  const padded = kernelHeadDim(gpu, Math.max(qkHeadDim, vHeadDim));
  return Math.max(1, (2 * padded) / (qkHeadDim + vHeadDim));
}
