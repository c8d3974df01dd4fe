/**
 * A GPU kernel as the fluid model sees it: work on the `sm` resource (FLOP
 * scaled up by how far below peak this kernel runs, so the resource's capacity
 * can stay the datasheet peak) and on the `hbm` resource (bytes scaled by the
 * achievable fraction of datasheet bandwidth).
 */
import type { Accelerator, Precision } from "../hardware/types.ts";
import { attentionEfficiency, gemmEfficiency, type GemmShape } from "./gemm-efficiency.ts";

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
  /** Kernel launches this entry stands for (merged identical kernels). */
  launches: number;
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

export function peakFlops(gpu: Accelerator, precision: Precision): number {
  const peak = gpu.peakFlops[precision];
  if (peak === undefined) throw new Error(`${gpu.name} has no ${precision} peak`);
  return peak;
}

export function kernelCost(k: Kernel, gpu: Accelerator, precision: Precision): KernelCost {
  const peak = peakFlops(gpu, precision);
  const eff = gpu.efficiency;
  let fraction: number;
  let bytes = k.bytes;
  if (k.kind === "gemm" && k.gemm) {
    const g = gemmEfficiency(k.gemm, gpu.smCount, eff.gemmPeakFraction);
    fraction = g.peakFraction;
    bytes += g.splitKBytes;
  } else if (k.kind === "attention") {
    fraction = attentionEfficiency(k.attentionBlocks ?? gpu.smCount, gpu.smCount, eff.attentionPeakFraction);
  } else {
    // Elementwise and reduction kernels: their FLOPs ride along at no extra cost.
    fraction = 1;
  }
  const smWork = k.flops / fraction;
  const hbmWork = bytes / eff.hbmPeakFraction;
  const tSm = smWork / peak;
  const tHbm = hbmWork / gpu.hbmBandwidth;
  const launchSeconds = k.launches * eff.kernelLaunchSeconds;
  return { smWork, hbmWork, launchSeconds, seconds: Math.max(tSm, tHbm) + launchSeconds, bound: tSm >= tHbm ? "sm" : "hbm" };
}
