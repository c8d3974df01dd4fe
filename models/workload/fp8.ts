/**
 * FP8 training recipes as Transformer Engine / Megatron-Core run them: which
 * GEMMs run in FP8 (the linear layers' fprop, dgrad and wgrad), and the
 * memory-bound quantization kernels each recipe adds around them.
 *
 * Every FP8 GEMM input is a BF16 tensor first cast to FP8. Hopper's FP8 tensor
 * cores take only the TN layout, so the cast also writes a transposed copy for
 * the backward GEMMs (TE's fused cast-transpose); block-scaled recipes write a
 * row-wise and a column-wise quantized copy instead, each with its scales.
 * Per element of the BF16 source (e bytes), one quantization moves:
 * - delayed:   read e, write 1 + 1; the amax is taken inside the cast and the
 *              scale comes from the amax history of earlier steps;
 * - current:   an amax reduction pass first (read e, one more launch), then the cast;
 * - blockwise: read e, write 1 + 1 plus an fp32 scale per 128 elements per copy
 *              (DeepSeek-V3-style 1x128 tiles; amax per tile inside the kernel);
 * - mxfp8:     read e, write 1 + 1 plus an E8M0 scale byte per 32 elements per
 *              copy (OCP MX; tensor cores that read the scales: Blackwell).
 * Weights are cast once per optimizer step (TE caches the FP8 weight across
 * micro-batches, Megatron passes is_first_microbatch), activations and output
 * gradients every micro-batch. Attention, norms, the router and the output
 * layer stay in BF16 unless asked otherwise.
 */
import type { Kernel } from "../compute/kernel.ts";
import type { GemmShape } from "../compute/gemm-efficiency.ts";

export const FP8_RECIPES = ["delayed", "current", "mxfp8", "blockwise"] as const;
export type Fp8Recipe = (typeof FP8_RECIPES)[number];

/** What an FP8 run quantizes and how, as the layer kernels need it. */
export interface Fp8Settings {
  recipe: Fp8Recipe;
  /** Flash attention runs in FP8 too (TE's FP8 DotProductAttention); default false. */
  attention: boolean;
  /** Share of micro-batches that cast the weights (1 / micro-batches per step). */
  weightCastShare: number;
}

export function fp8Settings(recipe: Fp8Recipe | undefined, attention: boolean | undefined, microBatchesPerStep: number): Fp8Settings {
  return { recipe: recipe ?? "delayed", attention: attention ?? false, weightCastShare: 1 / Math.max(1, microBatchesPerStep) };
}

/** Elements that share one scale, per quantized copy (blockwise: 1x128 tiles; mxfp8: 32). */
const SCALE_BLOCK: Readonly<Record<Fp8Recipe, { elements: number; bytes: number } | null>> = {
  delayed: null,
  current: null,
  blockwise: { elements: 128, bytes: 4 },
  mxfp8: { elements: 32, bytes: 1 },
};

/** HBM bytes one quantization of a BF16 tensor moves, per source element (`e` bytes each). */
export function quantizeBytesPerElement(recipe: Fp8Recipe, e: number): number {
  const amaxPass = recipe === "current" ? e : 0;
  const block = SCALE_BLOCK[recipe];
  const scales = block === null ? 0 : (2 * block.bytes) / block.elements;
  return amaxPass + e + 2 + scales;
}

/** Kernel launches of one quantization: current scaling runs its amax reduction as a kernel of its own. */
export function quantizeLaunches(recipe: Fp8Recipe): number {
  return recipe === "current" ? 2 : 1;
}

function quantize(name: string, elements: number, e: number, fp8: Fp8Settings, share = 1): Kernel {
  return {
    name,
    kind: "memory",
    flops: 2 * elements * share,
    bytes: quantizeBytesPerElement(fp8.recipe, e) * elements * share,
    launches: quantizeLaunches(fp8.recipe) * share,
  };
}

/** Forward quantizations of one FP8 linear layer: its input every micro-batch, its weight once a step. */
export function fp8ForwardQuantize(name: string, g: GemmShape, e: number, fp8: Fp8Settings): Kernel[] {
  const batch = g.batch ?? 1;
  return [quantize(`${name}.fp8-cast-input`, g.m * g.k * batch, e, fp8), quantize(`${name}.fp8-cast-weight`, g.k * g.n * batch, e, fp8, fp8.weightCastShare)];
}

/** Backward quantization of one FP8 linear layer: the incoming output gradient (for dgrad and wgrad). */
export function fp8BackwardQuantize(name: string, g: GemmShape, e: number, fp8: Fp8Settings): Kernel[] {
  return [quantize(`${name}.fp8-cast-grad`, g.m * g.n * (g.batch ?? 1), e, fp8)];
}
