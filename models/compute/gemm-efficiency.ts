/**
 * How close a GEMM of a given shape gets to the accelerator's large-GEMM
 * throughput. Shape effects only; the absolute level is the accelerator's one
 * measured calibration (`gemmPeakFraction`, taken on a large square GEMM).
 *
 * Physics captured:
 * - wave quantisation: the output is cut into tiles; tiles run in waves of one
 *   per SM, and a last partial wave leaves SMs idle;
 * - tile padding: dimensions that are not tile multiples compute padding;
 * - main-loop fill and drain: each tile pays a fixed prologue/epilogue worth
 *   256 bytes of K per input row (128 elements in BF16/FP16, 256 in FP8: the
 *   multistage pipeline's first k-blocks in flight and the output tile's
 *   write-out), which matters when K is small (hidden 768-2560, attention's
 *   head dimension);
 * - split-K: a library facing too few tiles splits K across SMs (we take the
 *   best of a few splits, as cuBLAS heuristics do), paying an extra pass over
 *   fp32 partial results in memory.
 * The result is normalised so an 8192³ GEMM reproduces the calibration exactly.
 */

/** Output tile shapes a modern GEMM library chooses between (CUTLASS/cuBLAS defaults). */
const TILES: readonly (readonly [number, number])[] = [
  [128, 256],
  [256, 128],
  [128, 128],
];
const SPLITS = [1, 2, 4, 8] as const;
/**
 * Fill/drain of a tile's main loop, in bytes of K per input row. Fitted to measured
 * cuBLASLt throughput (Azure/AI-benchmarking-guide: A100 FP16, H100 and H200 FP8; see
 * test/models/gemm-sustained.test.ts): 256 B leaves every point from 2048 up and the
 * skinny 802816x192x768 within 7 % (64 elements on every precision left the skinny shape
 * 11-20 % optimistic and 4096^3 on A100 8 %).
 */
export const K_OVERHEAD_BYTES = 256;
/** A split of K is only worth its extra pass when each split keeps this many elements. */
const MIN_K_PER_SPLIT = 256;
const REFERENCE = 8192;

export interface GemmShape {
  m: number;
  n: number;
  k: number;
  /** Independent GEMMs of this shape launched together (batched / grouped). */
  batch?: number;
  /** A grouped GEMM (MoE experts): each of the `batch` groups multiplies by its own weights. */
  grouped?: boolean;
  /** Its output columns are split in tiles between a megacore's TensorCores (megablox-tiles.ts). */
  coreSplit?: CoreSplit;
}

/**
 * A Pallas kernel on a megacore chip (TPU v4, v5p) whose grid's first, "parallel" dimension runs
 * over `colBlocks` separate kernels' output-column tiles of `tileCols`: the `cores` TensorCores
 * share each kernel's tiles, so an uneven count leaves one idle for the last tile.
 */
export interface CoreSplit {
  cores: number;
  tileCols: number;
  /** The output columns are this many kernels' (a fused gate and up projection: 2). */
  colBlocks: number;
}

/** Time of the busiest TensorCore over that of an even split: cores·⌈t/cores⌉/t for t column tiles per kernel. */
export function coreSplitFactor(n: number, s: CoreSplit): number {
  const tiles = Math.ceil(n / s.colBlocks / s.tileCols);
  return (s.cores * Math.ceil(tiles / s.cores)) / tiles;
}

/**
 * A grouped GEMM streams every group's weights from HBM while it computes; with few rows per
 * group the weight stream rivals the math and the two no longer overlap fully. Alone it takes
 * the p-norm of its compute and memory times instead of their maximum:
 * (t_sm^p + t_hbm^p)^(1/p), p = 2. Fitted to DeepGEMM's masked-layout grouped FP8 GEMMs on
 * H800 (README at its Feb 2025 release, NVCC 12.8; kernel-level): at N 4096, K 7168 the same
 * 1024 rows as 1, 2 and 4 groups run at 1233, 1040 and 932 TFLOP/s, at N 7168, K 2048 at 925,
 * 916 and 815 (test/models/grouped-gemm.test.ts: within 12 % of each ratio). Large groups
 * (DeepGEMM contiguous layout, 8 × 4096 rows: 1288 against 1304 TFLOP/s dense) are compute-bound
 * and keep their dense efficiency. Dense GEMMs keep the plain maximum they were calibrated with.
 */
export const GROUPED_OVERLAP_EXPONENT = 2;

/** Time alone of a kernel with `smSeconds` of math and `hbmSeconds` of traffic: a grouped GEMM's p-norm, else the larger. */
export function overlappedSeconds(smSeconds: number, hbmSeconds: number, grouped: boolean): number {
  if (!grouped) return Math.max(smSeconds, hbmSeconds);
  const p = GROUPED_OVERLAP_EXPONENT;
  return Math.pow(Math.pow(smSeconds, p) + Math.pow(hbmSeconds, p), 1 / p);
}

export interface GemmEfficiency {
  /** Fraction of dense peak FLOP/s this GEMM reaches. */
  peakFraction: number;
  /** Extra HBM bytes for split-K partial sums (fp32 write + read per split). */
  splitKBytes: number;
}

function shapeFactor(m: number, n: number, k: number, batch: number, sms: number, kOverhead: number): { factor: number; split: number } {
  let best = 0;
  let bestSplit = 1;
  for (const [tm, tn] of TILES) {
    const tilesM = Math.ceil(m / tm);
    const tilesN = Math.ceil(n / tn);
    const padding = (m * n) / (tilesM * tm * tilesN * tn);
    for (const split of SPLITS) {
      if (split > 1 && k / split < MIN_K_PER_SPLIT) break;
      const tiles = tilesM * tilesN * batch * split;
      const waves = Math.ceil(tiles / sms);
      const waveUse = tiles / (waves * sms);
      const kPerTile = k / split;
      const loop = kPerTile / (kPerTile + kOverhead);
      const factor = waveUse * padding * loop;
      if (factor > best * 1.000001) {
        best = factor;
        bestSplit = split;
      }
    }
  }
  return { factor: best, split: bestSplit };
}

const referenceCache = new Map<number, number>();
function referenceFactor(sms: number, kOverhead: number): number {
  const key = sms * 65536 + kOverhead; // one entry per (SM count, fill in elements)
  let f = referenceCache.get(key);
  if (f === undefined) {
    f = shapeFactor(REFERENCE, REFERENCE, REFERENCE, 1, sms, kOverhead).factor;
    referenceCache.set(key, f);
  }
  return f;
}

/** `inputBytes`: bytes per input element (2 for BF16/FP16, 1 for FP8), which sets the K-loop fill in elements. */
export function gemmEfficiency(shape: GemmShape, smCount: number, gemmPeakFraction: number, inputBytes = 2): GemmEfficiency {
  const batch = shape.batch ?? 1;
  const kOverhead = K_OVERHEAD_BYTES / inputBytes;
  const { factor, split } = shapeFactor(shape.m, shape.n, shape.k, batch, smCount, kOverhead);
  const peakFraction = Math.min(gemmPeakFraction, (gemmPeakFraction * factor) / referenceFactor(smCount, kOverhead));
  const splitKBytes = split > 1 ? 2 * 4 * shape.m * shape.n * batch * split : 0;
  return { peakFraction, splitKBytes };
}

/**
 * Keys' worth of fixed work each query block pays around its loop over the keys (loading Q,
 * the final rescale and writing O; in the backward also dQ's accumulation and the dK/dV
 * epilogue). Fitted to FlashAttention-2 on H100 at head dim 128 (FA3 paper, Fig. 5 and 6):
 * forward about one 128-key block, backward two. See test/models/kernels-precision.test.ts.
 */
export const ATTENTION_FILL_KEYS = { forward: 128, backward: 256 } as const;
/** Keys per query row where the catalog's attention levels were measured (16k, non-causal). */
const ATTENTION_REFERENCE_KEYS = 16384;

/**
 * Flash attention: one thread block per (sequence, head, 128-query block), so
 * short sequences or few heads leave SMs idle, and short key loops pay their
 * fixed work over fewer keys; the level at long sequences is the accelerator's
 * measured attention calibration, reproduced exactly at the reference length.
 * `keys`: average keys a query row attends to (half the sequence when causal).
 */
export function attentionEfficiency(blocks: number, smCount: number, attentionPeakFraction: number, keys?: number, fillKeys: number = ATTENTION_FILL_KEYS.forward): number {
  const waves = Math.ceil(blocks / smCount);
  const fill = keys === undefined ? 1 : Math.min(1, keys / (keys + fillKeys) / (ATTENTION_REFERENCE_KEYS / (ATTENTION_REFERENCE_KEYS + fillKeys)));
  return attentionPeakFraction * (blocks / (waves * smCount)) * fill;
}
