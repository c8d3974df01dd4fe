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
 *
 * torchao.float8's recipes (tensorwise, rowwise, rowwise-gw-hp) cast each GEMM
 * operand in separate kernels per role (input, weight, grad): see TORCHAO_CASTS.
 * rowwise runs its backward GEMMs as tensorwise cuBLAS GEMMs followed by an
 * elementwise rescale of the output; rowwise-gw-hp runs the weight-gradient GEMM
 * in BF16 on the unquantized input and output gradient.
 */
import type { Kernel } from "../compute/kernel.ts";
import type { GemmShape } from "../compute/gemm-efficiency.ts";

export const FP8_RECIPES = ["delayed", "current", "mxfp8", "blockwise", "tensorwise", "rowwise", "rowwise-gw-hp"] as const;
export type Fp8Recipe = (typeof FP8_RECIPES)[number];

/** The GEMM operand a quantization casts. */
export type Fp8Role = "input" | "weight" | "grad";

type TorchaoRecipe = "tensorwise" | "rowwise" | "rowwise-gw-hp";

/**
 * torchao.float8 (Float8LinearConfig.from_recipe_name, torchao 0.10 / 0.13): dynamic scaling,
 * each cast its own kernel(s). HBM bytes per BF16 source element as `a*e + b` and launches,
 * per role, from torchao's own kernel accounting (torchao/testing/training/roofline_utils.py,
 * get_tensor_memory_traffic_ovhd_s, unfused case; pytorch/ao at 36027d82d):
 * - tensorwise input/grad: amax pass (read e), second-stage amax (tiny), cast writing the
 *   row- and column-major FP8 copies (read e, write 2): 2e+2, 3 launches;
 *   weight: amax, then a forward and a backward cast (read e, write 1 each): 3e+2, 4 launches.
 * - rowwise input/grad: cast along rows also writing a BF16 transpose (read e, write 1+e),
 *   then the transpose's cast (read e, write 1): 3e+2, 2 launches; weight: forward cast
 *   (e+1), transpose (2e), its cast (e+1): 4e+2, 3 launches. Per-row fp32 scales (4 B per
 *   row of K elements) are left out.
 * - rowwise-gw-hp input/grad: one row-wise cast (e+1), the weight gradient uses the BF16
 *   tensors; weight: row-wise cast, scale reduction (tiny), tensorwise cast for dgrad: 2e+2, 3.
 */
const TORCHAO_CASTS: Readonly<Record<TorchaoRecipe, Readonly<Record<Fp8Role, { perE: number; plus: number; launches: number }>>>> = {
  tensorwise: { input: { perE: 2, plus: 2, launches: 3 }, grad: { perE: 2, plus: 2, launches: 3 }, weight: { perE: 3, plus: 2, launches: 4 } },
  rowwise: { input: { perE: 3, plus: 2, launches: 2 }, grad: { perE: 3, plus: 2, launches: 2 }, weight: { perE: 4, plus: 2, launches: 3 } },
  "rowwise-gw-hp": { input: { perE: 1, plus: 1, launches: 1 }, grad: { perE: 1, plus: 1, launches: 1 }, weight: { perE: 2, plus: 2, launches: 3 } },
};

function torchao(recipe: Fp8Recipe): TorchaoRecipe | null {
  return recipe === "tensorwise" || recipe === "rowwise" || recipe === "rowwise-gw-hp" ? recipe : null;
}

/**
 * How a recipe runs a linear layer's backward GEMMs.
 * - rowwise: torchao's addmm_float8_unwrapped (torchao/float8/float8_ops.py, 0.10 and 0.13)
 *   sends row-wise-scaled GEMMs without fast accumulation (dgrad and wgrad: use_fast_accum
 *   False by default in Float8LinearConfig) to the tensorwise cuBLAS kernel with unit scales
 *   and multiplies the BF16 output by the scales afterwards ("The rowwise CUTLASS-based kernel
 *   is so slow without fast-accum..."; pytorch/ao PR #1325): one elementwise pass per output.
 * - rowwise-gw-hp: the weight gradient runs in high precision (cast_config_*_for_grad_weight
 *   ScalingType.DISABLED): a BF16 GEMM. Its dgrad mixes row-wise and tensorwise scales, so it
 *   takes no rescale pass.
 */
/** torchao's rowwise recipes run the forward GEMM with per-row scales and fast accumulation (the row-wise kernel). */
export function fp8RowwiseForward(recipe: Fp8Recipe): boolean {
  return recipe === "rowwise" || recipe === "rowwise-gw-hp";
}

export function fp8BackwardPlan(recipe: Fp8Recipe): { wgradInBf16: boolean; rescaleOutputs: boolean } {
  return { wgradInBf16: recipe === "rowwise-gw-hp", rescaleOutputs: recipe === "rowwise" };
}

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
  tensorwise: null,
  rowwise: null,
  "rowwise-gw-hp": null,
  blockwise: { elements: 128, bytes: 4 },
  mxfp8: { elements: 32, bytes: 1 },
};

/** HBM bytes one quantization of a BF16 tensor moves, per source element (`e` bytes each). */
export function quantizeBytesPerElement(recipe: Fp8Recipe, e: number, role: Fp8Role = "input"): number {
  const t = torchao(recipe);
  if (t !== null) return TORCHAO_CASTS[t][role].perE * e + TORCHAO_CASTS[t][role].plus;
  const amaxPass = recipe === "current" ? e : 0;
  const block = SCALE_BLOCK[recipe];
  const scales = block === null ? 0 : (2 * block.bytes) / block.elements;
  return amaxPass + e + 2 + scales;
}

/** Kernel launches of one quantization: current scaling runs its amax reduction as a kernel of its own. */
export function quantizeLaunches(recipe: Fp8Recipe, role: Fp8Role = "input"): number {
  const t = torchao(recipe);
  if (t !== null) return TORCHAO_CASTS[t][role].launches;
  return recipe === "current" ? 2 : 1;
}

function quantize(name: string, elements: number, e: number, fp8: Fp8Settings, role: Fp8Role, share = 1): Kernel {
  return {
    name,
    kind: "memory",
    flops: 2 * elements * share,
    bytes: quantizeBytesPerElement(fp8.recipe, e, role) * elements * share,
    launches: quantizeLaunches(fp8.recipe, role) * share,
    streamClass: "fp8Cast",
  };
}

/** Forward quantizations of one FP8 linear layer: its input every micro-batch, its weight once a step. */
export function fp8ForwardQuantize(name: string, g: GemmShape, e: number, fp8: Fp8Settings): Kernel[] {
  const batch = g.batch ?? 1;
  return [quantize(`${name}.fp8-cast-input`, g.m * g.k * batch, e, fp8, "input"), quantize(`${name}.fp8-cast-weight`, g.k * g.n * batch, e, fp8, "weight", fp8.weightCastShare)];
}

/** Backward quantization of one FP8 linear layer: the incoming output gradient (for dgrad and wgrad). */
export function fp8BackwardQuantize(name: string, g: GemmShape, e: number, fp8: Fp8Settings): Kernel[] {
  return [quantize(`${name}.fp8-cast-grad`, g.m * g.n * (g.batch ?? 1), e, fp8, "grad")];
}

/** rowwise's rescale of a backward GEMM's BF16 output (`elements` of `e` bytes): read and write it once. */
export function fp8RescaleKernel(name: string, elements: number, e: number): Kernel {
  return { name: `${name}.fp8-rescale`, kind: "memory", flops: elements, bytes: 2 * e * elements, launches: 1 };
}
