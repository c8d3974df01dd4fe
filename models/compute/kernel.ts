/**
 * A GPU kernel as the fluid model sees it: work on the `sm` resource (FLOP
 * scaled up by how far below peak this kernel runs, so the resource's capacity
 * can stay the datasheet peak) and on the `hbm` resource (bytes scaled by the
 * achievable fraction of datasheet bandwidth).
 */
import type { Accelerator, Precision } from "../hardware/types.ts";
import { headDimPadding } from "./attention-head-dim.ts";
import { ATTENTION_FILL_KEYS, attentionEfficiency, coreSplitFactor, gemmEfficiency, overlappedSeconds, type GemmShape } from "./gemm-efficiency.ts";

export type KernelKind = "gemm" | "attention" | "memory";

export interface Kernel {
  name: string;
  kind: KernelKind;
  /** FLOPs actually executed. */
  flops: number;
  /** HBM bytes read + written. */
  bytes: number;
  /** For GEMMs: the shape that sets efficiency. */
  gemm?: GemmShape;
  /** For flash attention: thread blocks launched (sequences × heads × query blocks). */
  attentionBlocks?: number;
  /** For flash attention: average keys a query row attends to (sets the key loop's fill). */
  attentionKeys?: number;
  /** Kernel launches this entry stands for (merged identical kernels). */
  launches: number;
  /**
   * Precision of its math when it differs from the run's (an FP8 run keeps attention, the
   * output layer and the router in BF16). Its work on `sm` is then counted in units of the
   * run's peak, so a BF16 kernel in an FP8 run costs what it costs at the BF16 peak.
   */
  precision?: Precision;
  /** Attention only: query/key and value head dims (the kernel's compiled head dim may pad them: attention-head-dim.ts). */
  attentionHeadDims?: readonly [number, number];
  /** Attention only: the backward kernel (dQ, dK, dV), calibrated apart from the forward. */
  backward?: boolean;
  /**
   * FP8 GEMMs with other than per-tensor scales: per-row (torchao rowwise forward; catalog
   * fp8RowwiseGemmRelative applies), MXFP8's E8M0 scale per 32 elements (catalog mxfp8GemmRelative)
   * or Transformer Engine's 1x128 / 128x128 block scales (catalog fp8BlockwiseGemmRelative).
   */
  fp8Scaling?: "rowwise" | "mxfp8" | "blockwise";
  /** Host-side wait the stream pays beside its launches (a blocking device-to-host synchronisation), seconds. */
  hostSeconds?: number;
  /** A sort-and-gather of token rows (a MoE permute / unpermute): its bytes move at the catalog's gatherPeakFraction where it has one. */
  gather?: boolean;
  /**
   * A memory-bound kernel whose framework implementations reach a measured share of the STREAM
   * bandwidth (`hbmPeakFraction`) rather than all of it: norms (forward, backward with its
   * weight-gradient reduction), fused RoPE, fused gated activations, FP8 casts.
   */
  streamClass?: StreamClass;
}

export type StreamClass = "norm" | "normBackward" | "rope" | "gatedActivation" | "fp8Cast";

const STREAM_FIELD = {
  norm: "normStreamRelative",
  normBackward: "normBackwardStreamRelative",
  rope: "ropeStreamRelative",
  gatedActivation: "gatedActivationStreamRelative",
  fp8Cast: "fp8CastStreamRelative",
} as const satisfies Record<StreamClass, keyof Accelerator["efficiency"]>;

/** The efficiency field that holds a class's share of STREAM. */
export function streamField(cls: StreamClass): (typeof STREAM_FIELD)[StreamClass] {
  return STREAM_FIELD[cls];
}

/** Share of the STREAM bandwidth a memory-bound kernel of this class reaches on this GPU (1: all of it). */
export function streamRelative(gpu: Accelerator, cls: StreamClass | undefined): number {
  return cls === undefined ? 1 : (gpu.efficiency[STREAM_FIELD[cls]] ?? 1);
}

export interface KernelCost {
  /** Work on `sm` in peak-FLOP units: flops / achieved fraction of peak. */
  smWork: number;
  /** Work on `hbm` in datasheet-byte units: bytes / achievable fraction. */
  hbmWork: number;
  launchSeconds: number;
  /** Alone on an idle GPU at full clock. */
  seconds: number;
  /** Which resource bounds it alone. */
  bound: "sm" | "hbm";
}

/** Bytes per GEMM input element by math precision (FP8 GEMMs read 1-byte inputs). */
const INPUT_BYTES: Readonly<Record<Precision, number>> = { fp32: 4, tf32: 4, bf16: 2, fp16: 2, fp8: 1, fp4: 0.5 };

export function peakFlops(gpu: Accelerator, precision: Precision): number {
  const peak = gpu.peakFlops[precision];
  if (peak === undefined) throw new Error(`${gpu.name} has no ${precision} peak`);
  return peak;
}

/** Fraction of `precision`'s dense peak a large square GEMM reaches: FP8's or FP4's own measurement, else the BF16/FP16 one. */
export function gemmLevel(gpu: Accelerator, precision: Precision): number {
  const eff = gpu.efficiency;
  if (precision === "fp4") return eff.fp4GemmPeakFraction ?? eff.fp8GemmPeakFraction ?? eff.gemmPeakFraction;
  return precision === "fp8" ? (eff.fp8GemmPeakFraction ?? eff.gemmPeakFraction) : eff.gemmPeakFraction;
}

/** Throughput of an FP8 GEMM with `scaling`'s scales relative to a per-tensor-scaled one (the fp8GemmPeakFraction level). */
export function fp8ScalingRelative(gpu: Accelerator, scaling: Kernel["fp8Scaling"]): number {
  if (scaling === "rowwise") return gpu.efficiency.fp8RowwiseGemmRelative ?? 1;
  if (scaling === "mxfp8") return gpu.efficiency.mxfp8GemmRelative ?? 1;
  if (scaling === "blockwise") return gpu.efficiency.fp8BlockwiseGemmRelative ?? 1;
  return 1;
}

/**
 * Fraction of `precision`'s dense peak flash attention reaches at long sequence, forward or backward,
 * at the clock of a run whose GEMMs are `run` (default: `precision`).
 */
export function attentionLevel(gpu: Accelerator, precision: Precision, backward: boolean, run: Precision = precision): number {
  return freeClockAttentionLevel(gpu, precision, backward) * attentionClockRatio(gpu, run);
}

/**
 * Attention's free-clock tables brought to the clock the run's GEMM level stands for: in an FP8 run
 * fp8RunAttentionClockRatio where the catalog has one (GB200, GB300: FP8 GEMM level sustained, BF16
 * level a burst), else attentionClockRatio, else 1.
 */
export function attentionClockRatio(gpu: Accelerator, run: Precision): number {
  const eff = gpu.efficiency;
  return (run === "fp8" ? eff.fp8RunAttentionClockRatio : undefined) ?? eff.attentionClockRatio ?? 1;
}

/** The attention level as the catalog's kernel table measured it (no clock ratio applied). */
function freeClockAttentionLevel(gpu: Accelerator, precision: Precision, backward: boolean): number {
  const eff = gpu.efficiency;
  const bf16Backward = eff.attentionBackwardPeakFraction ?? eff.attentionPeakFraction;
  if (precision !== "fp8") return backward ? bf16Backward : eff.attentionPeakFraction;
  const forward = eff.fp8AttentionPeakFraction ?? eff.attentionPeakFraction;
  // No FP8 backward measured: the forward level scaled by the BF16 backward/forward ratio.
  return backward ? (eff.fp8AttentionBackwardPeakFraction ?? (forward * bf16Backward) / eff.attentionPeakFraction) : forward;
}

export function kernelCost(k: Kernel, gpu: Accelerator, precision: Precision): KernelCost {
  const peak = peakFlops(gpu, precision);
  const own = k.precision ?? precision;
  // Work in units of the run's peak: a kernel at another precision runs against its own peak.
  const unit = own === precision ? 1 : peak / peakFlops(gpu, own);
  let fraction: number;
  let bytes = k.bytes;
  if (k.kind === "gemm" && k.gemm) {
    // Row-wise-scaled (torchao rowwise forward), MXFP8 and block-scaled GEMMs run their own kernels, measured against tensorwise.
    const scaled = own === "fp8" ? fp8ScalingRelative(gpu, k.fp8Scaling) : 1;
    const g = gemmEfficiency(k.gemm, gpu.smCount, gemmLevel(gpu, own) * scaled, INPUT_BYTES[own]);
    fraction = g.peakFraction;
    if (k.gemm.coreSplit !== undefined) fraction /= coreSplitFactor(k.gemm.n, k.gemm.coreSplit);
    bytes += g.splitKBytes;
  } else if (k.kind === "attention") {
    const backward = k.backward === true;
    const { attentionFillKeys, attentionBackwardFillKeys } = gpu.efficiency;
    const fill = backward ? (attentionBackwardFillKeys ?? ATTENTION_FILL_KEYS.backward) : (attentionFillKeys ?? ATTENTION_FILL_KEYS.forward);
    fraction = attentionEfficiency(k.attentionBlocks ?? gpu.smCount, gpu.smCount, attentionLevel(gpu, own, backward, precision), k.attentionKeys, fill);
    if (k.attentionHeadDims !== undefined) fraction /= headDimPadding(gpu, k.attentionHeadDims[0], k.attentionHeadDims[1]);
  } else {
    // Elementwise and reduction kernels: their FLOPs ride along at no extra cost.
    fraction = 1;
  }
  const eff = gpu.efficiency;
  let smWork = (k.flops / fraction) * unit;
  const hbmWork = bytes / ((k.gather === true ? (eff.gatherPeakFraction ?? eff.hbmPeakFraction) : eff.hbmPeakFraction) * streamRelative(gpu, k.streamClass));
  let tSm = smWork / peak;
  const tHbm = hbmWork / gpu.hbmBandwidth;
  if (k.gemm?.grouped === true) {
    // Imperfect overlap of a grouped GEMM's weight stream with its math: the SMs stay busy (stalled) that long.
    tSm = overlappedSeconds(tSm, tHbm, true);
    smWork = tSm * peak;
  }
  const launchSeconds = k.launches * eff.kernelLaunchSeconds + (k.hostSeconds ?? 0);
  return { smWork, hbmWork, launchSeconds, seconds: Math.max(tSm, tHbm) + launchSeconds, bound: tSm >= tHbm ? "sm" : "hbm" };
}
