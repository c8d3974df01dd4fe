/** Numeric precisions a kernel can run in. Peak FLOP/s are dense (no 2:4 sparsity). */
export type Precision = "fp32" | "tf32" | "bf16" | "fp16" | "fp8";

export type ScaleUpKind = "nvlink" | "xgmi" | "ici" | "roce";

/**
 * One calibration per accelerator: how close real kernels get to the datasheet.
 * Every figure here is a published measurement, never fitted to a training case.
 */
export interface EfficiencyCalibration {
  /** Fraction of dense peak a large, well-shaped GEMM reaches (measured, e.g. cuBLAS/hipBLASLt on 8192^3). */
  gemmPeakFraction: number;
  /** Fraction of datasheet HBM bandwidth a streaming kernel reaches (measured, e.g. STREAM / BabelStream copy). */
  hbmPeakFraction: number;
  /** Fixed cost of one kernel launch and tail, seconds. */
  kernelLaunchSeconds: number;
  /** Fraction of dense peak a fused flash-attention forward kernel reaches at long sequence (measured). */
  attentionPeakFraction: number;
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
  tdpWatts: number;
  idleWatts: number;
  /** Streaming multiprocessors / compute units / cores: sets the GEMM wave quantisation. */
  smCount: number;
  efficiency: EfficiencyCalibration;
  /**
   * Where each number comes from: key is the field path ("peakFlops.bf16", "hbmBandwidth",
   * "efficiency.gemmPeakFraction", ...), value a citation (document, table/page, URL if public).
   */
  sources: Record<string, string>;
}
