/**
 * How sure the catalog is of each calibrated constant: one spread per accelerator and constant
 * path, from the evidence its `sources` already record (docs/uncertainty.md). A spread is a
 * relative interval around the catalog value, [value × (1 + low), value × (1 + high)], with
 * low ≤ 0 ≤ high. Where two measurements of the same constant disagree (burst against sustained
 * clocks, two library versions, a fit's residual), the interval is their disagreement; where one
 * source stands alone, a default per kind of constant, each saying what it rests on. Spreads are
 * never chosen to make a validation case fit (CALIBRATION.md).
 */
import { CATALOG } from "../hardware/catalog.ts";
import { FRAMEWORK_STREAM_EVIDENCE } from "../hardware/catalog/memory-kernels.ts";
import type { Accelerator } from "../hardware/types.ts";

export interface Spread {
  /** Relative lower end (≤ 0): value × (1 + low). */
  low: number;
  /** Relative upper end (≥ 0). */
  high: number;
  /** What the interval rests on. */
  source: string;
}

export type ConstantKind = "gemm" | "attention" | "hbm" | "stream" | "launch" | "nvls" | "ratio" | "fill" | "count" | "scaleUpLink" | "nicLink";

/** Paths of the constants that are not `efficiency.*` fields: effective link rates (models/collectives/alpha-beta.ts). */
export const SCALE_UP_LINK = "network.scaleUpEfficiency";
export const NIC_LINK = "network.nicEfficiency";

export function kindOf(path: string): ConstantKind {
  if (path === SCALE_UP_LINK) return "scaleUpLink";
  if (path === NIC_LINK) return "nicLink";
  const field = path.replace(/^efficiency\./, "");
  if (/FillKeys$/.test(field)) return "fill";
  if (/^commSms/.test(field)) return "count";
  if (field === "nvlsFraction") return "nvls";
  if (field === "fp8RowwiseGemmRelative" || field === "mxfp8GemmRelative" || field === "fp8BlockwiseGemmRelative") return "ratio";
  if (field === "hbmPeakFraction" || field === "gatherPeakFraction") return "hbm";
  if (/StreamRelative$/.test(field)) return "stream";
  if (field === "kernelLaunchSeconds") return "launch";
  if (/[aA]ttention/.test(field)) return "attention";
  if (/[gG]emmPeakFraction$/.test(field)) return "gemm";
  throw new Error(`no spread kind for constant ${path}`);
}

const sym = (r: number, source: string): Spread => ({ low: -r, high: r, source });

const MSMF_RUNS =
  "run-to-run and GPU-to-GPU spread of a sustained GEMM: B200 mamf-finder MSMF, 8 GPUs x 5 rounds, max-min 4.9 % (stas00/ml-engineering benchmarks/README.md), taken as +-2.45 %";
const DERIVATION =
  "a constant derived from another part or kernel (no own measurement): the largest error of such a derivation the catalog has met, the Blackwell audit's derived B200 attention level (1238 TFLOP/s against the later-measured 1365 at 16k causal: 9.3 %, docs/calibration.md), taken as +-10 %";
const ATTENTION_FITS =
  "median of the fit residuals the catalog records for measured attention levels (H100 cuDNN 2.6 / 3.2 %, B200 6 / 7 / 4 / 6 %, GB200 3 / 8 / 3 %, GB300 6 / 12 / 10 / 3 %, H100 cuDNN FP8 bwd 23 %): 6 %";
const STREAM_KERNELS = "BabelStream Copy against Triad on the same run (Azure ND MI300X v5: 4.15 against 4.10 TB/s): 1.2 %";
const HBM_DERIVED = "spread of the measured NVIDIA HBM stream fractions (0.834 A100-80GB ... 0.887 H100) around their middle: +-3.1 %";
const LAUNCH_MEASURED = "CSCS ReFrame gpu_kernel_latency_check accepts +10 % over its reference (reference tuple (2.7, None, 0.10, 'us')); taken symmetric";
const LAUNCH_DERIVED =
  "async launch latency across the GPUs of the same CSCS check (V100 1.83, P100 2.2, A100 2.7, Vega 2.64 us): down to -32 % on other parts, up to the check's +10 % tolerance";
const NO_SPREAD_FILL = "0: a key-loop fill is fitted jointly with its level, whose spread carries the fit's residual";
const NO_SPREAD_COUNT = "0: a channel count NCCL/RCCL sets by rule (read from logs or derived from the rule), not a measured rate";

/** Defaults per kind: [measured on the part, derived from another]. */
const DEFAULTS: Readonly<Record<ConstantKind, readonly [Spread, Spread]>> = {
  gemm: [sym(0.0245, MSMF_RUNS), sym(0.1, DERIVATION)],
  attention: [sym(0.06, ATTENTION_FITS), sym(0.1, DERIVATION)],
  hbm: [sym(0.012, STREAM_KERNELS), sym(0.031, HBM_DERIVED)],
  // Catalog parts take the spread of the implementations' medians (streamEvidenceSpread); an inline part, the derivation default.
  stream: [sym(0.1, DERIVATION), sym(0.1, DERIVATION)],
  launch: [sym(0.1, LAUNCH_MEASURED), { low: -0.32, high: 0.1, source: LAUNCH_DERIVED }],
  nvls: [sym(0.007, "NVLink4 NVLS busbw: H800 0.614 (NVIDIA/nccl#1374) against H100 0.61 (NVIDIA/nccl-tests#212, Azure 478.87 GB/s): 0.7 %"), sym(0.1, DERIVATION)],
  ratio: [sym(0.0245, MSMF_RUNS), sym(0.1, DERIVATION)],
  fill: [sym(0, NO_SPREAD_FILL), sym(0, NO_SPREAD_FILL)],
  count: [sym(0, NO_SPREAD_COUNT), sym(0, NO_SPREAD_COUNT)],
  scaleUpLink: [
    {
      low: 0.767 / 0.8 - 1,
      high: 0.822 / 0.8 - 1,
      source: "NVLINK_EFFICIENCY 0.8 between its two measurements: ~230 of 300 GB/s ring busbw on DGX A100 (0.767) and ~370 of 450 on H100 (0.822) (S. Jeaugey, NVIDIA/nccl-tests #149, #212)",
    },
    sym(0.1, DERIVATION),
  ],
  nicLink: [
    {
      low: 0.92 / 0.95 - 1,
      high: 0.96 / 0.95 - 1,
      source: "NIC_EFFICIENCY 0.95 between its measurements: 24 of 25 GB/s per HDR NIC (0.96, nccl-tests #160), 46-48 of 50 per NDR NIC (0.92-0.96, nccl-tests #290)",
    },
    sym(0.1, DERIVATION),
  ],
};

// Constants whose sources record a disagreement of their own.
const H100_GEMM: Spread = {
  low: 0.706 / 0.803 - 1,
  high: 0.0245,
  source:
    "burst MAMF 0.803 against the sustained MSMF of the same GH100 SMs at the same 700 W (H200: 0.706, docs/calibration.md 'Sustained clocks'): -12.1 %; above, the sustained run-to-run spread (+2.45 %)",
};
const H100_FP8_GEMM: Spread = {
  low: -0.0245,
  high: 0.713 / 0.652 - 1,
  source: "cuBLASLt per-tensor FP8 0.652 (Azure ND H100 v5) against DeepGEMM's block-scaled FP8 on the same SMs, 1410 TFLOP/s on 4096x4096x7168 (0.713, README 327ec92): +9.4 %; below, the sustained run-to-run spread",
};
const H100_FA2_FWD: Spread = {
  low: 335 / 989.4 / 0.35 - 1,
  high: 370 / 989.4 / 0.35 - 1,
  source: "FA3 paper Fig. 5, FA2 forward hdim 128 at 16k: causal 335, non-causal 370 TFLOP/s around the 0.35 level (-3.3 % / +6.9 %)",
};
const HOPPER_CUDNN: Readonly<Record<string, Spread>> = {
  "efficiency.cudnnAttentionPeakFraction": sym(0.026, "log least-squares fit to the FA3 paper's cuDNN causal forward bars, 512-16k within 2.6 %"),
  "efficiency.cudnnAttentionBackwardPeakFraction": sym(0.032, "fit to the cuDNN backward bars, 512-16k within 3.2 %"),
  "efficiency.cudnnFp8AttentionBackwardPeakFraction": sym(0.23, "fit to cudnn-frontend's H200 FP8 backward (cuDNN 9.19.1), 2k-32k within 23 %"),
};
const HOPPER_BLOCKWISE: Spread = {
  low: 5.547 / (7.821 - (6.987 - 5.547) * (4.0625 / 6)) / 0.818 - 1,
  high: 16.785 / (22.882 - 3.5) / 0.818 - 1,
  source:
    "Transformer Engine benchmark_gemm.py on H200 NVL, autocast less quantization: per pass 0.810 (wgrad) to 0.824 (dgrad) around the per-layer 0.818 (-1.0 %); above, the block quantization taken to cost as much as current scaling's measured 3.50 ms instead of 2.37: 0.866 (+5.9 %)",
};
const H100_LIKE: Readonly<Record<string, Spread>> = {
  "efficiency.gemmPeakFraction": H100_GEMM,
  "efficiency.fp8GemmPeakFraction": H100_FP8_GEMM,
  "efficiency.attentionPeakFraction": H100_FA2_FWD,
  "efficiency.fp8RowwiseGemmRelative": {
    low: 0.9 / 0.95 - 1,
    high: 1 / 0.95 - 1,
    source: "pytorch/pytorch#147971: row-wise FP8 'within 90-100 % of tensor-wise' around the 0.95 taken (the long tail down to 50 % is left out)",
  },
};
const AOTRITON_ATTENTION: Readonly<Record<string, Spread>> = {
  "efficiency.aotritonAttentionPeakFraction": {
    low: 0.2305 / 0.2386 - 1,
    high: 57.2836 / 57.1085 - 1,
    source: "attn-dsl-bench's SDPA (AOTriton) forward on MI300X: the 8192 row needs 0.2305 against the 0.2386 of the 16384 row the level takes (-3.4 %); above, that row's fastest of 30 runs against its median (57.11 against 57.28 ms, +0.3 %)",
  },
  "efficiency.aotritonAttentionBackwardPeakFraction": {
    low: 0.0729 / 0.1092 - 1,
    high: 0.1374 / 0.1092 - 1,
    source: "AOTriton 0.11b's op tuning table on gfx942, split backward, head dim 128, BF16: the eight rows (seq 1k-8k, causal and not) need levels 0.073 to 0.137 around the median 0.109 (-33 % / +26 %)",
  },
};
const B200_ATTENTION: Readonly<Record<string, Spread>> = {
  "efficiency.attentionPeakFraction": sym(0.06, "fit to cudnn-frontend's B200 SDPA table (cuDNN 9.10.2), 2k-32k within 6 %"),
  "efficiency.attentionBackwardPeakFraction": sym(0.07, "same fit, backward, within 7 %"),
  "efficiency.fp8AttentionPeakFraction": sym(0.04, "same fit, FP8 forward, within 4 %"),
  "efficiency.fp8AttentionBackwardPeakFraction": sym(0.06, "same fit, FP8 backward, within 6 %"),
};
const BLACKWELL_NVLS: Spread = {
  low: 0,
  high: 0.007,
  source: "NVIDIA/nccl#1807 'busbw 830+' on 8 x B200 is a lower bound: nothing below it; above, the NVLink4 NVLS disagreement (0.7 %), how far above is not measured",
};
const GB200_GEMM: Spread = {
  low: 1426.4 / 1751.2 - 1,
  high: 0.0245,
  source: "burst MAMF 0.729 with no sustained GB200 run: below, B200's own sustained/burst ratio in the same protocol (1426.4 / 1751.2: -18.5 %); above, the sustained run-to-run spread",
};

const TPU: Readonly<Record<string, Spread>> = {
  [SCALE_UP_LINK]: sym(0.1, `ICI links take NVLINK_EFFICIENCY (no ICI measurement): ${DERIVATION}`),
  "efficiency.gemmPeakFraction": sym(0.1, `taken from TPU v5e's XLA matmul (a different chip of the same MXU design): ${DERIVATION}`),
};

/** Per accelerator: constants whose sources record a disagreement (everything else takes its kind's default). */
export const SPREADS: Readonly<Record<string, Readonly<Record<string, Spread>>>> = {
  "A100-40GB": {
    "efficiency.attentionPeakFraction": { low: -0.06, high: 0, source: "FA2 paper: 'up to 73 %' of peak is the top of its range (nothing above); below, the attention-fit default (6 %)" },
    "efficiency.attentionBackwardPeakFraction": sym(0.1, DERIVATION),
  },
  "A100-80GB": {
    "efficiency.attentionPeakFraction": { low: -0.06, high: 0, source: "FA2 paper: 'up to 73 %' of peak is the top of its range (nothing above); below, the attention-fit default (6 %)" },
    "efficiency.attentionBackwardPeakFraction": sym(0.1, DERIVATION),
  },
  "H100-SXM": {
    ...H100_LIKE,
    ...HOPPER_CUDNN,
    "efficiency.fp8BlockwiseGemmRelative": HOPPER_BLOCKWISE,
    "efficiency.nvlsFraction": sym(0.007, "NVLS_EFFICIENCY 0.61 (models/network/collectives.ts): Azure ND H100 v5 478.87 GB/s and S. Jeaugey ~480 (nccl-tests#212) against H800's 0.614 (nccl#1374): 0.7 %"),
  },
  H800: {
    ...H100_LIKE,
    "efficiency.nvlsFraction": sym(0.007, "H800 0.614 (NVIDIA/nccl#1374) against H100's 0.61: 0.7 %"),
  },
  H200: {
    "efficiency.gemmPeakFraction": {
      low: -0.0245,
      high: 702.9 / 698.6 - 1 + 0.0245,
      source: "MSMF all 8 GPUs busy 698.6 against GPU0 alone 702.9 (+0.6 %) plus the sustained run-to-run spread (2.45 %)",
    },
    "efficiency.attentionPeakFraction": H100_FA2_FWD,
    "efficiency.nvlsFraction": sym(0.007, "NVLS_EFFICIENCY 0.61 of NVLink4, as H100 (same NVSwitch generation): 0.7 %"),
    ...HOPPER_CUDNN,
    "efficiency.fp8BlockwiseGemmRelative": HOPPER_BLOCKWISE,
  },
  B200: {
    "efficiency.gemmPeakFraction": {
      low: -0.0245,
      high: 0.639 / 0.634 - 1 + 0.0245,
      source: "two MSMF runs of the same protocol, 0.634 (torch 2.13) and 0.639 (torch 2.14): +0.8 %, plus the run-to-run spread (2.45 %)",
    },
    "efficiency.fp8GemmPeakFraction": {
      low: 0.607 / 0.621 - 1,
      high: 0.1,
      source: "derived FP8 level 0.621 against GB200's own sustained/burst FP8 ratio (0.607, docs/calibration.md Blackwell audit): -2.3 %; above, the derivation default (+10 %)",
    },
    ...B200_ATTENTION,
    "efficiency.nvlsFraction": BLACKWELL_NVLS,
  },
  GB200: {
    "efficiency.gemmPeakFraction": GB200_GEMM,
    "efficiency.fp8GemmPeakFraction": { low: 0.567 / 0.575 - 1, high: 0.581 / 0.575 - 1, source: "Azure ND GB200 v6 cuBLASLt FP8: 4096^3 0.567, 8192^3 0.575, 16384^3 0.581 (-1.4 % / +1.0 %)" },
    "efficiency.attentionPeakFraction": sym(0.03, "fit to cudnn-frontend's GB200 SDPA table (cuDNN 9.17.0), within 3 %"),
    "efficiency.attentionBackwardPeakFraction": sym(0.08, "same fit, backward, within 8 %"),
    "efficiency.fp8AttentionPeakFraction": sym(0.03, "same fit, FP8 forward, within 3 %"),
    "efficiency.nvlsFraction": BLACKWELL_NVLS,
  },
  GB300: {
    "efficiency.gemmPeakFraction": GB200_GEMM,
    "efficiency.attentionPeakFraction": sym(0.06, "fit to cudnn-frontend's GB300 SDPA table (cuDNN 9.17.0), within 6 %"),
    "efficiency.attentionBackwardPeakFraction": sym(0.12, "same table, backward level by minimax, within 12 %"),
    "efficiency.fp8AttentionPeakFraction": sym(0.03, "same fit, FP8 forward, within 3 %"),
    "efficiency.fp8AttentionBackwardPeakFraction": sym(0.1, "same table, FP8 backward by minimax, within 10 %"),
    "efficiency.mxfp8GemmRelative": {
      low: 2.158 / 2.365 / 0.951 - 1,
      high: 2.329 / 2.397 / 0.951 - 1,
      source: "Transformer Engine benchmark_gemm.py on B300, pre-quantized: MXFP8 against per-tensor FP8 per pass, fprop 0.912 to dgrad 0.972, around the per-layer 0.951 (-4.1 % / +2.2 %)",
    },
    "efficiency.nvlsFraction": BLACKWELL_NVLS,
  },
  MI300X: {
    ...AOTRITON_ATTENTION,
    "efficiency.gemmPeakFraction": {
      low: -0.0245,
      high: 708 / 668.4 - 1,
      source: "MAMF through PyTorch 668.4 against AMD's MAF hipBLASLt-bench 708 TFLOP/s at the same power-limited clock (ROCm blog, Feb 2025): +5.9 % (the older v1 MAMF 781.9 ran without cache reset and is left out); below, the run-to-run spread",
    },
    "efficiency.fp8GemmPeakFraction": { low: 1223.6 / 1273 - 1, high: 0.0245, source: "AMD MAF FP8 1273 against its footnote's 1223.6 TFLOP/s: -3.9 %; above, the run-to-run spread" },
    "efficiency.attentionPeakFraction": { low: 309.6 / 346.4 - 1, high: 355.5 / 346.4 - 1, source: "ROCm/flash-attention#142, CK FA2 forward over batch 1-8: 309.6-355.5 around the median 346.4 TFLOP/s" },
    "efficiency.attentionBackwardPeakFraction": { low: 194.4 / 203.8 - 1, high: 206.7 / 203.8 - 1, source: "same issue, backward: 194.4-206.7 around 203.8" },
    [SCALE_UP_LINK]: { low: 313.92 / 318.98 - 1, high: 0, source: "XGMI_EFFICIENCY from RCCL all_reduce_perf 318.98 GB/s (ROCm blog, Mar 2025) against Azure ND MI300X v5's 313.92 at 1 GB: -1.6 %" },
  },
  MI325X: {
    ...AOTRITON_ATTENTION,
    "efficiency.gemmPeakFraction": { low: -0.0245, high: 843 / 784.9 - 1, source: "MAMF 784.9 against AMD's MAF 843 TFLOP/s at the same power-limited clock: +7.4 %; below, the run-to-run spread" },
    [SCALE_UP_LINK]: { low: 313.92 / 318.98 - 1, high: 0, source: "as MI300X (same xGMI): 318.98 against 313.92 GB/s, -1.6 %" },
  },
  "TPU-v4": TPU,
  "TPU-v5p": {
    ...TPU,
    "efficiency.gatherPeakFraction": {
      low: 0.0904 / 0.116 - 1,
      high: 0.1611 / 0.116 - 1,
      source: "the two stages it is taken from (marin moe_hillclimb_harness.md, v5p): combine alone 0.090 and pack alone 0.161 of HBM peak around their joint 0.116",
    },
  },
};

/**
 * True when the catalog's source says the value was derived or estimated rather than measured on
 * this part; a value taken over from identical silicon (same SMs, same memory system) counts as measured.
 */
function derived(gpu: Accelerator, path: string): boolean {
  const src = gpu.sources[path];
  if (src === undefined || !/^(Derived|Estimate|No )/.test(src)) return false;
  return !/\((identical|same [^)]*(silicon|SMs|HBM|memory))/i.test(src);
}

/** The spread of `path` on `gpu`: its own entry, else its kind's default (measured or derived, as its source says). */
export function spreadOf(gpu: Accelerator, path: string): Spread {
  const own = SPREADS[gpu.name]?.[path] ?? streamEvidenceSpread(gpu, path);
  if (own !== undefined) return own;
  const [measured, fromOther] = DEFAULTS[kindOf(path)];
  if (!(gpu.name in CATALOG)) return fromOther; // an inline GPU: nothing measured that we know of
  return derived(gpu, path) ? fromOther : measured;
}

/**
 * A memory-kernel class's share of STREAM on a catalog part: the range of the implementations'
 * medians its evidence records (models/hardware/catalog/memory-kernels.ts), around the part's value.
 */
function streamEvidenceSpread(gpu: Accelerator, path: string): Spread | undefined {
  const field = path.replace(/^efficiency\./, "");
  if (!(field in FRAMEWORK_STREAM_EVIDENCE) || !(gpu.name in CATALOG)) return undefined;
  const evidence = FRAMEWORK_STREAM_EVIDENCE[field as keyof typeof FRAMEWORK_STREAM_EVIDENCE];
  const value = gpu.efficiency[field as keyof typeof FRAMEWORK_STREAM_EVIDENCE];
  if (value === undefined) return undefined;
  const [lo, hi] = evidence.range;
  return { low: Math.min(0, lo / value - 1), high: Math.max(0, hi / value - 1), source: `the range of the implementations' medians, ${lo}-${hi} of STREAM (memory-kernels.ts)` };
}
