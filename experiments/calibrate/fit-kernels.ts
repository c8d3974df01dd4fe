/**
 * Kernel levels from timed kernels, through the repo's own shape model
 * (models/compute/gemm-efficiency.ts): a GEMM of shape (M, N, K) reaches
 * level × shape(M, N, K) of its precision's dense peak, where shape() is the model's wave
 * quantisation, tile padding, K-loop fill and split-K, 1 at 8192³. The level per precision
 * is the least-absolute-deviations scale on relative residuals (the weighted median of
 * measured / shape; robust.ts): one wild row does not move it. Attention likewise through
 * attentionEfficiency (waves of 128-query blocks, the key loop's fixed work), forward and
 * backward separately. Only the compute side is modelled here: a row the model would call
 * memory-bound shows as a residual, it does not bend the level.
 */
import { ATTENTION_FILL_KEYS, attentionEfficiency, gemmEfficiency } from "../../models/compute/gemm-efficiency.ts";
import type { Accelerator, Precision } from "../../models/hardware/types.ts";
import type { AttentionLevel, FittedValue, GemmLevel, Residual } from "./calibration-file.ts";
import { CalibrationInputError } from "./errors.ts";
import type { AttentionRow, GemmRow } from "./kernel-csv.ts";
import { ladRelativeScale, spreadOf } from "./robust.ts";

const INPUT_BYTES: Record<GemmLevel, number> = { bf16: 2, fp8: 1, fp4: 0.5 };
const PEAK: Record<GemmLevel, Precision> = { bf16: "bf16", fp8: "fp8", fp4: "fp4" };
const QUERY_BLOCK = 128;

function peak(gpu: Accelerator, level: GemmLevel, file: string): number {
  const p = gpu.peakFlops[PEAK[level]] ?? (level === "bf16" ? gpu.peakFlops.fp16 : undefined);
  if (p === undefined) throw new CalibrationInputError(`${file}: dtype: ${level} is not allowed on ${gpu.name} (no ${level} peak in the catalog); expected one of ${Object.keys(gpu.peakFlops).join(", ")}`);
  return p;
}

export function gemmShapeFactor(gpu: Accelerator, r: GemmRow): number {
  return gemmEfficiency({ m: r.m, n: r.n, k: r.k, batch: r.batch }, gpu.smCount, 1, INPUT_BYTES[r.level]).peakFraction;
}

export function attentionShapeFactor(gpu: Accelerator, r: AttentionRow): number {
  const blocks = r.batch * r.heads * Math.ceil(r.seq / QUERY_BLOCK);
  const keys = r.causal ? r.seq / 2 : r.seq;
  const fill = r.backward ? (gpu.efficiency.attentionBackwardFillKeys ?? ATTENTION_FILL_KEYS.backward) : (gpu.efficiency.attentionFillKeys ?? ATTENTION_FILL_KEYS.forward);
  return attentionEfficiency(blocks, gpu.smCount, 1, keys, fill);
}

export interface KernelFit<K extends string> {
  levels: Partial<Record<K, FittedValue>>;
  residuals: Residual[];
}

function fitScale<K extends string, R extends { line: number; flops: number; seconds: number; level: K }>(gpu: Accelerator, tables: readonly { file: string; rows: readonly R[] }[], shape: (r: R) => number): KernelFit<K> {
  const all = tables.flatMap((t) => t.rows.map((r) => ({ r, file: t.file })));
  const levels: Partial<Record<K, FittedValue>> = {};
  const residuals: Residual[] = [];
  for (const level of [...new Set(all.map((a) => a.r.level))]) {
    const rows = all.filter((a) => a.r.level === level);
    const achieved = rows.map((a) => a.r.flops / a.r.seconds / peak(gpu, level as unknown as GemmLevel, a.file));
    const g = rows.map((a) => shape(a.r));
    const value = ladRelativeScale(achieved, g);
    const rel: number[] = [];
    rows.forEach((a, i) => {
      const predicted = a.r.flops / (value * (g[i] as number) * peak(gpu, level as unknown as GemmLevel, a.file));
      const relative = (predicted - a.r.seconds) / a.r.seconds;
      rel.push(relative);
      residuals.push({ input: `${a.file}:${a.r.line}`, measured: a.r.seconds, predicted, relative, unit: "s" });
    });
    levels[level] = { value, spread: spreadOf(value, rel) };
  }
  return { levels, residuals };
}

export function fitGemm(gpu: Accelerator, tables: readonly { file: string; rows: readonly GemmRow[] }[]): KernelFit<GemmLevel> {
  return fitScale(gpu, tables, (r) => gemmShapeFactor(gpu, r));
}

export function fitAttention(gpu: Accelerator, tables: readonly { file: string; rows: readonly AttentionRow[] }[], backward: boolean): KernelFit<AttentionLevel> {
  const picked = tables.map((t) => ({ file: t.file, rows: t.rows.filter((r) => r.backward === backward) })).filter((t) => t.rows.length > 0);
  return fitScale(gpu, picked, (r) => attentionShapeFactor(gpu, r));
}
