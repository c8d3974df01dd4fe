import type { SizeCurves } from "../collectives/alpha-beta.ts";

/**
 * Numeric precisions a kernel can run in. Peak FLOP/s are dense (no 2:4 sparsity). fp4 is
 * block-scaled 4-bit (NVFP4 on Blackwell): a catalog peak and GEMM fraction, not yet a
 * workload precision (no FP4 training recipe: experiments/schema.ts PRECISIONS omits it).
 */
export type Precision = "fp32" | "tf32" | "bf16" | "fp16" | "fp8" | "fp4";

export type ScaleUpKind = "nvlink" | "xgmi" | "ici" | "roce";

/**
 * A flash-attention implementation: Dao's FlashAttention-2 (or a port), Dao's FlashAttention 1
 * (2022; its own head-dim kernels, models/compute/attention-head-dim.ts), cuDNN's fused attention
 * (Transformer Engine's FusedAttention) or AOTriton (ROCm/aotriton: the ahead-of-time compiled
 * Triton kernels PyTorch SDPA's flash backend runs on ROCm by default).
 */
export type AttentionBackend = "flash-attention" | "flash-attention-1" | "cudnn" | "aotriton";

/**
 * One calibration per accelerator: how close real kernels get to the datasheet.
 * Every figure here is a published measurement, never fitted to a training case.
 */
export interface EfficiencyCalibration {
  /** Fraction of dense peak a large, well-shaped GEMM reaches (measured, e.g. cuBLAS/hipBLASLt on 8192^3). */
  gemmPeakFraction: number;
  /** Fraction of datasheet HBM bandwidth a streaming kernel reaches (measured, e.g. STREAM / BabelStream copy). */
  hbmPeakFraction: number;
  /**
   * Fraction of datasheet HBM bandwidth the compiler's sort-and-gather of token rows reaches (a MoE
   * layer's permute and unpermute as XLA runs them on TPU: argsort of the expert ids, then a row
   * gather; bytes counted as the rows read and written). Missing: `hbmPeakFraction` (GPU stacks
   * permute with bandwidth-bound kernels of their own).
   */
  gatherPeakFraction?: number;
  /**
   * Share of the STREAM bandwidth (hbmPeakFraction) the framework kernels of a class reach
   * (models/hardware/catalog/memory-kernels.ts): forward norms, norm backwards, fused RoPE, fused
   * gated activations, FP8 casts. Absent: 1 (the class streams like STREAM).
   */
  normStreamRelative?: number;
  normBackwardStreamRelative?: number;
  ropeStreamRelative?: number;
  gatedActivationStreamRelative?: number;
  fp8CastStreamRelative?: number;
  /** Fixed cost of one kernel launch and tail, seconds. */
  kernelLaunchSeconds: number;
  /** Fraction of dense peak a fused flash-attention forward kernel reaches at long sequence (measured). */
  attentionPeakFraction: number;
  /**
   * Fraction of the FP8 dense peak a large square FP8 GEMM reaches (measured on 8192^3 where
   * published); `gemmPeakFraction` stands for BF16/FP16. FP8 GEMMs reach a smaller share of
   * their doubled peak (cuBLASLt on H100: 0.65 against BF16's 0.80). Defaults to `gemmPeakFraction`.
   */
  fp8GemmPeakFraction?: number;
  /**
   * Throughput of a row-wise-scaled FP8 GEMM (PyTorch's `_scaled_mm` with per-row scales, fast
   * accumulation) relative to the tensorwise one on the same shape; default 1.
   */
  fp8RowwiseGemmRelative?: number;
  /**
   * Throughput of an MXFP8 GEMM (E8M0 scale per 32 elements along K, block-scaled tensor-core MMA;
   * Transformer Engine's MXFP8BlockScaling, torchao's MX cuBLAS recipes) relative to a per-tensor-
   * scaled FP8 GEMM of the same shapes: forward, dgrad and wgrad. Absent: 1.
   */
  mxfp8GemmRelative?: number;
  /**
   * Throughput of a block-scaled FP8 GEMM as Transformer Engine's Float8BlockScaling runs it on
   * Hopper (cuBLASLt with 1x128 scales on activations and gradients, 128x128 on weights, applied in
   * the main loop) relative to a per-tensor-scaled FP8 GEMM of the same shapes: forward, dgrad and
   * wgrad. Absent: 1.
   */
  fp8BlockwiseGemmRelative?: number;
  /** Fraction of the FP4 dense peak a large block-scaled FP4 GEMM reaches (NVFP4, measured). */
  fp4GemmPeakFraction?: number;
  /**
   * NVLink SHARP (NVLS) all-reduce: algorithm bandwidth as a share of the per-direction
   * NVLink bandwidth (nccl-tests busbw / (2(n-1)/n) / link rate), per NVSwitch generation.
   * Missing: the NVLink4 (H100) figure, models/network/collectives.ts NVLS_EFFICIENCY.
   */
  nvlsFraction?: number;
  /** Flash-attention backward (dQ, dK, dV), fraction of BF16 peak; defaults to `attentionPeakFraction`. */
  attentionBackwardPeakFraction?: number;
  /** FP8 flash-attention forward, fraction of the FP8 peak (used only with workload.fp8Attention). */
  fp8AttentionPeakFraction?: number;
  /** FP8 flash-attention backward, fraction of the FP8 peak (used only with workload.fp8Attention). */
  fp8AttentionBackwardPeakFraction?: number;
  /**
   * Keys' worth of fixed work each query block of flash attention pays around its key loop,
   * forward and backward (models/compute/gemm-efficiency.ts `attentionEfficiency`); the level
   * fields above hold at 16k keys. Missing: ATTENTION_FILL_KEYS (FA2 on H100: 128 and 256).
   * Fitted to the accelerator's own kernel table where one is published (cuDNN on Blackwell).
   */
  attentionFillKeys?: number;
  attentionBackwardFillKeys?: number;
  /**
   * Where the attention levels were timed at a free clock (one kernel between pauses) but the
   * GEMM level, and so the power model's clock 1, is the sustained power-saturated clock: a
   * compute-bound kernel's throughput at that clock over its free-clock throughput, from one
   * protocol on this GPU (mamf-finder's MSMF / MAMF). Multiplies every attention level
   * (compute/kernel.ts attentionLevel). Absent: 1 (both at the same clock).
   */
  attentionClockRatio?: number;
  /**
   * The same ratio for runs with precision fp8, where it differs: on GPUs whose FP8 GEMM level is a
   * sustained measurement (10,000 warm-up iterations) while the BF16 GEMM level is a burst figure
   * (GB200, GB300), an FP8 run's clock is the sustained one and a BF16 run's the burst one. The FP8
   * GEMM's sustained over burst throughput on this GPU. Absent: attentionClockRatio.
   */
  fp8RunAttentionClockRatio?: number;
  /**
   * cuDNN's fused flash attention (what Transformer Engine runs on Hopper), where the fields
   * above measure another kernel (FlashAttention-2 on H100/H200): the same levels and fills,
   * swapped in by workload.attentionBackend: cudnn (models/hardware/attention-backend.ts).
   */
  cudnnAttentionPeakFraction?: number;
  cudnnAttentionBackwardPeakFraction?: number;
  cudnnFp8AttentionPeakFraction?: number;
  cudnnFp8AttentionBackwardPeakFraction?: number;
  cudnnAttentionFillKeys?: number;
  cudnnAttentionBackwardFillKeys?: number;
  /**
   * FlashAttention-2 (PyTorch SDPA's flash backend) where the fields above measure cuDNN's
   * kernel (Blackwell): BF16 levels and fills, swapped in by workload.attentionBackend:
   * flash-attention. FA2 has no FP8 kernel.
   */
  fa2AttentionPeakFraction?: number;
  fa2AttentionBackwardPeakFraction?: number;
  fa2AttentionFillKeys?: number;
  fa2AttentionBackwardFillKeys?: number;
  /**
   * AOTriton (PyTorch SDPA's default flash backend on ROCm) where the fields above measure another
   * kernel (CK's FlashAttention-2 port on MI300X): BF16 forward and backward levels, swapped in by
   * workload.attentionBackend: aotriton. The backward level keeps FlashAttention's convention (2.5
   * forwards of FLOPs), so the extra recompute of AOTriton's split dK/dV + dQ kernels is inside it.
   */
  aotritonAttentionPeakFraction?: number;
  aotritonAttentionBackwardPeakFraction?: number;
  /**
   * SMs one collective's kernel holds while it runs (NCCL: one CTA per channel, each on an
   * SM of its own): within the scale-up domain, and across nodes per NIC its group drives
   * on a node (per member there). Compute overlapping it runs on the rest
   * (models/step/comm-interference.ts). Missing or 0: none.
   */
  commSmsScaleUp?: number;
  commSmsPerNic?: number;
  /**
   * Collective size curves measured on the user's own machines ([bytes, fraction of the
   * plateau] points; trainsim calibrate, cluster.calibration): inside a scale-up domain and
   * across nodes. Missing: the catalog's curve (models/collectives/alpha-beta.ts SIZE_CURVE).
   */
  collectiveSizeCurves?: SizeCurves;
}

export interface Accelerator {
  name: string;
  vendor: string;
  /** Dense peak FLOP/s per precision (no sparsity). Missing = unsupported. */
  peakFlops: Partial<Record<Precision, number>>;
  hbmBytes: number;
  /** Datasheet HBM bandwidth, bytes/s. */
  hbmBandwidth: number;
  /** Scale-up (NVLink / xGMI / ICI) bandwidth per GPU per direction, bytes/s. */
  scaleUpBandwidth: number;
  scaleUpKind: ScaleUpKind;
  /** GPUs reachable over the scale-up fabric in one hop domain (8 for a DGX node, 72 for NVL72). */
  scaleUpDomain: number;
  /** Scale-out NIC bandwidth per GPU per direction, bytes/s (typical system configuration). */
  nicBandwidth: number;
  /**
   * Measured pinned host ↔ device copy bandwidth per direction, bytes/s, where the GPU reaches
   * host memory other than over its own PCIe x16 link (Grace's NVLink-C2C on GB200/GB300).
   * Absent: the PCIe link at the measured copy fraction (models/network/host.ts).
   */
  hostCopyBandwidth?: number;
  tdpWatts: number;
  idleWatts: number;
  /**
   * DVFS exponent γ of the power model (models/power/gpu-power.ts: dynamic power ∝ clock^γ under a
   * power limit), where measured for this part: Blackwell 1.3 (power-limit sweeps of GEMMs). Absent: 2.5.
   */
  dvfsExponent?: number;
  /** Streaming multiprocessors / compute units / cores: sets the GEMM wave quantisation. */
  smCount: number;
  /**
   * TensorCores one device drives as a megacore (TPU v4, v5p: 2): a Pallas kernel splits its
   * grid's "parallel" dimension between them. Absent: one.
   */
  megacoreTensorCores?: number;
  /**
   * Side of the systolic matrix unit (TPU MXU: 128 on v4/v5p) on which the attention kernels'
   * head dims are tiled, a partial tile costing a whole one (models/compute/attention-head-dim.ts).
   * Absent: the vendor's kernel grid, if any.
   */
  matrixUnitDim?: number;
  efficiency: EfficiencyCalibration;
  /**
   * Tensor cores run OCP microscaling FP8 (MXFP8: E8M0 scale per 32 elements) natively
   * (Blackwell and later); without it the `mxfp8` recipe is refused.
   */
  mxfp8?: boolean;
  /**
   * The flash-attention kernel the efficiency's attention fields measure: flash-attention
   * (Dao's FlashAttention, or the vendor's port of it; the default) or cudnn (cuDNN's fused
   * attention, as on Blackwell); aotriton only by the swap (attention-backend.ts).
   */
  attentionBackend?: AttentionBackend;
  /**
   * Where each number comes from: key is the field path ("peakFlops.bf16", "hbmBandwidth",
   * "efficiency.gemmPeakFraction", ...), value a citation (document, table/page, URL if public).
   */
  sources: Record<string, string>;
  /**
   * Spreads a user calibration measured for the constants it fitted (cluster.calibration), by
   * the uncertainty model's constant path ("efficiency.gemmPeakFraction",
   * "network.scaleUpEfficiency", ...): relative ends low ≤ 0 ≤ high. They replace the catalog's.
   */
  measuredSpreads?: Readonly<Record<string, { low: number; high: number; source: string }>>;
}
