/**
 * How much of the STREAM bandwidth (`hbmPeakFraction`) the memory-bound kernels of training
 * stacks reach, by class of kernel. STREAM is the best case: one read and one write per element,
 * tuned for bytes in flight. A norm reduces over each row, its backward also over the rows for
 * the weight gradient; a fused RoPE gathers the two rotated halves; a gated activation reads two
 * inputs; a cast writes one-byte elements and their scales. Each value is the median, over the
 * implementations the stacks call by default (ATen, Inductor, Apex, cuDNN, Transformer Engine,
 * Megatron's TorchScript fusions), of that implementation's measured share of the same GPU's
 * STREAM at 67 MB to 2 GB moved, with the minimum bytes as the traffic (what trainsim counts).
 * Add-on libraries the published runs did not call (Liger, QuACK, Oink: at or near STREAM) are left
 * out. Measured on NVIDIA parts; AMD parts take them as the best prior (no MI300X measurement of these
 * kernels was found). TPU and Gaudi entries have none: their compilers fuse these ops into neighbours.
 */

export const FRAMEWORK_STREAM = {
  normStreamRelative: 0.72,
  normBackwardStreamRelative: 0.41,
  ropeStreamRelative: 0.48,
  gatedActivationStreamRelative: 0.62,
  fp8CastStreamRelative: 0.76,
} as const;

const LIGER_CSV = "linkedin/Liger-Kernel benchmark/data/all_benchmark_data.csv (commit ead96b6)";
const QUACK_FIG = "Dao-AILab/quack README figure media/bf16_kernel_benchmarks_single_row.svg (commit c8ec317; the 'Getting Memory-bound Kernels to Speed-of-Light' blog, 2025-07-10: H100 SXM, torch.compile 2.7.1, cuDNN 9.10.1, 32K rows)";

/** Where each value comes from; `range` is the spread of the implementation medians (models/uncertainty/spreads.ts). */
export const FRAMEWORK_STREAM_EVIDENCE = {
  normStreamRelative: {
    range: [0.61, 0.93],
    source:
      `Forward RMSNorm/LayerNorm (read x, write y), median of 9 implementation medians: Apex FastLayerNorm 0.91 and the older FusedLayerNorm 0.65 (A100-40GB, NVIDIA/apex PR #1037, 2021-01-27: 0.81 / 0.58 of peak, fp16 BERT rows); ATen's fused RMSNorm 0.61 on H100 (${LIGER_CSV}, megatron_rms_norm provider torch, bf16 4096 x 4096-16384) and 0.78 on B200 (pytorch/pytorch PR #159682 'cuDNN frontend for LayerNorm RMSNorm', fp16 134-537 MB); ATen LayerNorm 0.62 (A100/H100, same CSV, fp32 4096 x 4096-16384); Inductor 0.66 on H100 (${QUACK_FIG}) and 0.72 on B200 (PR #159682; meta-pytorch/tritonbench max-autotune); cuDNN 0.93 on H100 (same figure) and 0.87 on B200 (PR #159682). Liger 0.96, QuACK 1.01 and Oink 0.94 are left out (not what the runs called). Range 0.61-0.93`,
  },
  normBackwardStreamRelative: {
    range: [0.28, 0.85],
    source:
      `Norm backward (read x and dy, write dx; the weight-gradient reduction over the rows), median of 5: ATen LayerNorm backward 0.41 on H100 (${LIGER_CSV}, fp32 4096 x 4096-16384) and 0.34 on GB300 (KernelAgent-Oink README, bf16 >= 268 MB, CUDA-graph timing); ATen RMSNorm backward 0.28 on H100 (same CSV, megatron_rms_norm, bf16 134 MB: backward less forward); Apex FusedLayerNorm backward 0.42 and FastLayerNorm backward 0.85 (A100-40GB, NVIDIA/apex PR #1037: 0.37 / 0.75 of peak, 34 MB). Liger 0.30-0.46 and Oink 0.53 (left out) agree that a norm's backward runs at about half its forward's rate. Range 0.28-0.85`,
  },
  ropeStreamRelative: {
    range: [0.36, 0.7],
    source:
      "Transformer Engine's fused RoPE (fused_rope_forward/backward_kernel, as Megatron-Core calls it with --apply-rope-fusion), read and write q and k: 0.48, the median of 6 points from 0.36 to 0.70: on GB200 forward 0.40 / 0.36 and backward 0.41 / 0.40 (NVIDIA/TransformerEngine PR #2508 description, 2025-12-11, the kernels before that PR: [4096,1,128,128] and [512,32,24,128] bf16, 201-268 MB), on H800 forward 0.55 and backward 0.70 (PaddlePaddle/Paddle PR #76824, 2025-12-08, its 'TransformerEngine' row, [8192,4,24,128] bf16, 403 MB). No measurement of an Inductor or Apex RoPE at these sizes: the TE value stands for them. Liger's Triton RoPE reaches 0.98 on A100 (left out)",
  },
  gatedActivationStreamRelative: {
    range: [0.6, 0.74],
    source:
      `Fused gated activation (SwiGLU: read the gate and up halves, write the product): Megatron-Core's bias_swiglu_impl (TorchScript jit fuser, the --bias-swiglu-fusion default) forward 0.64 / 0.60 / 0.74 at F = 32768 / 4096 / 1024 and 8192 tokens on H100, median 0.62 (${LIGER_CSV}, megatron_swiglu provider megatron, bf16, 50 MB-1.6 GB). Its backward was only estimated from the same rows (full minus forward, with an out.sum(): about 0.22), too crude to use: the backward takes the forward's value. A plain (ungated) activation is one elementwise kernel and streams at STREAM (pytorch/pytorch PR #145746: ATen unary kernels at STREAM on H100)`,
  },
  fp8CastStreamRelative: {
    range: [0.44, 0.94],
    source:
      "FP8 quantization (read the BF16 tensor, write one or two FP8 layouts and scales), median of 8: Transformer Engine's multi-tensor cast-transpose 0.91 (H100, NVIDIA/TransformerEngine PR #998: '80% of peak memory bandwidth') and its 2023 single-tensor kernel 0.44 (PR #101, 4096 x 4096); TE MXFP8 cast-only 0.73 on B200 (8192 x 8192, the B200 column of ROCm/TransformerEngine PR #598) and quantize+dbias 0.61 (NVIDIA/TransformerEngine PR #3137, 4096 x 14336); torchao's MXFP8 casts 0.79 on B200 and Inductor's 0.90 (floor) / 0.52 (RCEIL) (pytorch/ao docs/source/workflows/training.md, 16384 x 16384); torchao blockwise FP8 Triton casts 0.94 on H100 (pytorch/ao benchmarks/prototype/blockwise_fp8_training/README.md, 268 MB-1 GB). Range 0.44-0.94",
  },
} as const satisfies Record<keyof typeof FRAMEWORK_STREAM, { range: readonly [number, number]; source: string }>;

/** The `sources` entries of a catalog GPU that takes these values. */
export function frameworkStreamSources(prefix = ""): Record<string, string> {
  return Object.fromEntries(Object.entries(FRAMEWORK_STREAM_EVIDENCE).map(([field, e]) => [`efficiency.${field}`, prefix + e.source]));
}

/** A norm kernel a run can state (workload.normKernel), with its own measured shares of STREAM. */
export type NormKernel = "apex-persistent" | "apex-fused";

const APEX_1037 =
  "NVIDIA/apex PR #1037 (2021-01-27, the contrib FastLayerNorm), its table on GA100 (A100 40GB: STREAM 0.886 of the 1555 GB/s peak, BabelStream triad), fp16, 16384 x 1024 rows (34 MB), the source's own GB/s";
export const NORM_KERNELS: Readonly<Record<NormKernel, { normStreamRelative: number; normBackwardStreamRelative: number; source: string }>> = {
  "apex-persistent": {
    normStreamRelative: 0.914,
    normBackwardStreamRelative: 0.847,
    source: `${APEX_1037}: FastLayerNorm forward 1258 GB/s (0.81 of peak) and backward 1163 GB/s (0.75): 0.914 and 0.847 of STREAM`,
  },
  "apex-fused": {
    normStreamRelative: 0.655,
    normBackwardStreamRelative: 0.418,
    source: `${APEX_1037}: the older FusedLayerNorm forward 896 GB/s (0.58 of peak) and backward 572 GB/s (0.37): 0.655 and 0.418 of STREAM`,
  },
};

/** The GPU with a stated norm kernel's shares of STREAM (only on parts whose catalog has the class values). */
export function withNormKernel<G extends { efficiency: { normStreamRelative?: number; normBackwardStreamRelative?: number }; sources: Record<string, string> }>(gpu: G, kernel: NormKernel): G {
  if (gpu.efficiency.normStreamRelative === undefined) return gpu;
  const k = NORM_KERNELS[kernel];
  return {
    ...gpu,
    efficiency: { ...gpu.efficiency, normStreamRelative: k.normStreamRelative, normBackwardStreamRelative: k.normBackwardStreamRelative },
    sources: { ...gpu.sources, "efficiency.normStreamRelative": `workload.normKernel ${kernel}: ${k.source}`, "efficiency.normBackwardStreamRelative": `workload.normKernel ${kernel}: ${k.source}` },
  };
}
