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
  /** FP8 GEMMs with per-row scales (torchao rowwise forward): catalog fp8RowwiseGemmRelative applies. */
  fp8Scaling?: "rowwise";
  /** Host-side wait the stream pays beside its launches (a blocking device-to-host synchronisation), seconds. */
  hostSeconds?: number;
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

/** Fraction of `precision`'s dense peak flash attention reaches at long sequence, forward or backward. */
export function attentionLevel(gpu: Accelerator, precision: Precision, backward: boolean): number {
  return freeClockAttentionLevel(gpu, precision, backward) * (gpu.efficiency.attentionClockRatio ?? 1);
}

/** The attention level as the catalog's kernel table measured it (attentionClockRatio not applied). */
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
    // Row-wise-scaled FP8 GEMMs (torchao rowwise forward) run their own kernel, measured against tensorwise.
    const rowwise = k.fp8Scaling === "rowwise" && own === "fp8" ? (gpu.efficiency.fp8RowwiseGemmRelative ?? 1) : 1;
    const g = gemmEfficiency(k.gemm, gpu.smCount, gemmLevel(gpu, own) * rowwise, INPUT_BYTES[own]);
    fraction = g.peakFraction;
    if (k.gemm.coreSplit !== undefined) fraction /= coreSplitFactor(k.gemm.n, k.gemm.coreSplit);
    bytes += g.splitKBytes;
  } else if (k.kind === "attention") {
    const backward = k.backward === true;
    const { attentionFillKeys, attentionBackwardFillKeys } = gpu.efficiency;
    const fill = backward ? (attentionBackwardFillKeys ?? ATTENTION_FILL_KEYS.backward) : (attentionFillKeys ?? ATTENTION_FILL_KEYS.forward);
    fraction = attentionEfficiency(k.attentionBlocks ?? gpu.smCount, gpu.smCount, attentionLevel(gpu, own, backward), k.attentionKeys, fill);
    if (k.attentionHeadDims !== undefined) fraction /= headDimPadding(gpu, k.attentionHeadDims[0], k.attentionHeadDims[1]);
  } else {
    // Elementwise and reduction kernels: their FLOPs ride along at no extra cost.
    fraction = 1;
  }
  const eff = gpu.efficiency;
  let smWork = (k.flops / fraction) * unit;
  const hbmWork = bytes / eff.hbmPeakFraction;
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
