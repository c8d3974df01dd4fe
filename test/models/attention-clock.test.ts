/**
 * efficiency.attentionClockRatio: attention levels timed at a free clock (cudnn-frontend's SDPA
 * benchmark sleeps between calls; the FlashAttention-3 paper's short runs) brought to the
 * sustained, power-saturated clock the GEMM level stands for, where a GPU's GEMM level is a
 * sustained measurement (B200, H200: mamf-finder's MSMF) and its burst twin is published; on GB200
 * and GB300 only the FP8 GEMM level is sustained, so only FP8 runs (fp8RunAttentionClockRatio).
 */
import { describe, expect, it } from "vitest";
import { attentionLevel, kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { applyCalibration, type CalibrationFile } from "../../experiments/calibrate/calibration-file.ts";
import { scenario } from "../helpers/scenario.ts";

const gpu = (name: string): Accelerator => CATALOG[name] as Accelerator;
/** `g` with one clock-ratio field set to `r`, or removed when `r` is undefined. */
const withField = (field: "attentionClockRatio" | "fp8RunAttentionClockRatio") => (g: Accelerator, r: number | undefined): Accelerator => {
  const efficiency = { ...g.efficiency };
  if (r === undefined) delete efficiency[field];
  else efficiency[field] = r;
  return { ...g, efficiency };
};
const withRatio = withField("attentionClockRatio");

describe("the ratio is the same protocol's sustained over burst GEMM throughput", () => {
  it("B200: MSMF all-8-busy 1426.4 over MAMF burst 1751.2 TFLOP/s = 0.815; H200: 698.6 over 825.95 = 0.846", () => {
    expect(gpu("B200").efficiency.attentionClockRatio).toBeCloseTo(1426.4 / 1751.2, 3);
    expect(gpu("H200").efficiency.attentionClockRatio).toBeCloseTo(698.6 / 825.95, 3);
  });

  it("absent where the GEMM level and the attention tables share a clock (H100: both bursts; GB200: MAMF burst)", () => {
    for (const name of ["A100-80GB", "H100-SXM", "GB200"]) expect(gpu(name).efficiency.attentionClockRatio).toBeUndefined();
  });
});

describe("attention levels at the sustained clock", () => {
  it("B200: every level times 0.815 (BF16 fwd 0.678, bwd 0.561; FP8 fwd 0.377, bwd 0.344 of the FP8 peak)", () => {
    const b = gpu("B200");
    expect(attentionLevel(b, "bf16", false)).toBeCloseTo(0.678 * 0.815, 12);
    expect(attentionLevel(b, "bf16", true)).toBeCloseTo(0.561 * 0.815, 12);
    expect(attentionLevel(b, "fp8", false)).toBeCloseTo(0.377 * 0.815, 12);
    expect(attentionLevel(b, "fp8", true)).toBeCloseTo(0.344 * 0.815, 12);
  });

  it("H100 (no ratio): the catalog level unchanged; a ratio of 1 equals none", () => {
    expect(attentionLevel(gpu("H100-SXM"), "bf16", false)).toBe(0.35);
    expect(attentionLevel(withRatio(gpu("B200"), 1), "bf16", true)).toBe(attentionLevel(withRatio(gpu("B200"), undefined), "bf16", true));
  });

  it("an SM-bound attention kernel takes 1/0.815 times its free-clock time; a GEMM and a memory-bound kernel do not move", () => {
    const b = gpu("B200");
    const free = withRatio(b, undefined);
    const att: Kernel = { name: "a", kind: "attention", flops: 4 * 8192 * 8192 * 148 * 128, bytes: 0, attentionBlocks: 148 * 64, attentionKeys: 8192, launches: 0 };
    expect(kernelCost(att, b, "bf16").seconds / kernelCost(att, free, "bf16").seconds).toBeCloseTo(1 / 0.815, 12);
    const gemm: Kernel = { name: "g", kind: "gemm", flops: 2 * 8192 ** 3, bytes: 3 * 2 * 8192 ** 2, gemm: { m: 8192, n: 8192, k: 8192 }, launches: 1 };
    expect(kernelCost(gemm, b, "bf16").seconds).toBe(kernelCost(gemm, free, "bf16").seconds);
    const mem: Kernel = { name: "m", kind: "memory", flops: 0, bytes: 1e9, launches: 1 };
    expect(kernelCost(mem, b, "bf16").seconds).toBe(kernelCost(mem, free, "bf16").seconds);
  });
});

describe("FP8 runs on GB200 and GB300 (fp8RunAttentionClockRatio)", () => {
  // GB200 FP8 GEMM: Azure ND GB200 v6 cuBLASLt 8192^3 after 10,000 warm-up iterations 2876.6 TFLOP/s (the catalog's
  // fp8GemmPeakFraction, 2876.6 / 5000 = 0.575) against mamf-finder's FP8 burst best shape 3615.6 (ml-engineering MAMF table).
  const sustainedOverBurst = 2876.6 / 3615.6;
  const att: Kernel = { name: "a", kind: "attention", flops: 4 * 4096 * 4096 * 128 * 128, bytes: 0, attentionBlocks: 128 * 32, attentionKeys: 4096, launches: 0, precision: "bf16" };
  const withFp8Ratio = withField("fp8RunAttentionClockRatio");

  it("GB200 and GB300: 2876.6 / 3615.6 = 0.796; absent on B200 and H200, whose attentionClockRatio covers every run", () => {
    for (const name of ["GB200", "GB300"]) expect(gpu(name).efficiency.fp8RunAttentionClockRatio).toBeCloseTo(sustainedOverBurst, 3);
    for (const name of ["B200", "H200", "H100-SXM"]) expect(gpu(name).efficiency.fp8RunAttentionClockRatio).toBeUndefined();
  });

  it("a BF16 attention kernel in an FP8 run on GB200 takes 1/0.796 of its BF16-run time; in a BF16 run it does not move", () => {
    const g = gpu("GB200");
    const free = withFp8Ratio(g, undefined);
    expect(kernelCost(att, g, "fp8").seconds / kernelCost(att, free, "fp8").seconds).toBeCloseTo(1 / 0.796, 12);
    expect(kernelCost(att, g, "bf16").seconds).toBe(kernelCost(att, free, "bf16").seconds);
    // The level itself: GB300's BF16 forward 0.851 (cuDNN table) at the FP8 run's clock.
    expect(attentionLevel(gpu("GB300"), "bf16", false, "fp8")).toBeCloseTo(0.851 * 0.796, 12);
    expect(attentionLevel(gpu("GB300"), "bf16", false, "bf16")).toBe(0.851);
    expect(attentionLevel(gpu("GB300"), "bf16", false)).toBe(0.851);
  });

  it("B200's FP8 runs keep attentionClockRatio (0.815), as its BF16 runs do", () => {
    expect(attentionLevel(gpu("B200"), "bf16", true, "fp8")).toBe(attentionLevel(gpu("B200"), "bf16", true, "bf16"));
  });

  it("GEMMs and memory-bound kernels of an FP8 run do not move", () => {
    const g = gpu("GB200");
    const free = withFp8Ratio(g, undefined);
    const gemm: Kernel = { name: "g", kind: "gemm", flops: 2 * 8192 ** 3, bytes: 3 * 8192 ** 2, gemm: { m: 8192, n: 8192, k: 8192 }, launches: 1 };
    expect(kernelCost(gemm, g, "fp8").seconds).toBe(kernelCost(gemm, free, "fp8").seconds);
    const mem: Kernel = { name: "m", kind: "memory", flops: 0, bytes: 1e9, launches: 1 };
    expect(kernelCost(mem, g, "fp8").seconds).toBe(kernelCost(mem, free, "fp8").seconds);
  });
});

describe("in a step", () => {
  const parts = { gpu: "B200", nodes: 1, gpusPerNode: 1, model: "llama3-8b", seqLength: 8192, globalBatch: 1, plan: { dp: 1, zero: 0 }, gpuVariability: 0 } as const;
  const run = (r: number | undefined): number => {
    const s = scenario(parts);
    return simulateStep({ ...s, cluster: { ...s.cluster, gpu: withRatio(s.cluster.gpu, r) } }).stepSeconds;
  };

  it("a single-GPU B200 step: ratio 1 equals none; 0.815 is slower by at most its attention time × (1/0.815 − 1)", () => {
    const free = run(undefined);
    expect(run(1)).toBe(free);
    const sustained = run(0.815);
    expect(sustained).toBeGreaterThan(free);
    // 32 layers, forward 2·s²·h·2·d·(causal ~½) and backward 2.5×: bounded by every attention FLOP at the level's fill-free rate.
    const attentionFlops = 32 * 3.5 * 2 * 8192 * 8192 * 32 * 2 * 128 * 0.51;
    const fastest = attentionFlops / (0.561 * 2.25e15);
    expect(sustained - free).toBeLessThan(fastest * (1 / 0.815 - 1) * 1.6);
  }, 60_000);
});

describe("trainsim calibrate", () => {
  const spread = { relative: 0.02, standardError: 0.01, rows: 5, p5: 0.48, p95: 0.52 };
  const file = (kernels: CalibrationFile["kernels"]): CalibrationFile => ({ trainsimCalibration: 1, gpu: "B200", provenance: { tool: "test", method: "", inputs: [] }, kernels, residuals: [] });

  it("attention levels fitted from the user's own timings share their clock: the catalog's ratio is dropped; a GEMM-only calibration keeps it", () => {
    const b = gpu("B200");
    const att = applyCalibration(b, file({ attentionForward: { bf16: { value: 0.5, spread } } }), "x");
    expect(att.efficiency.attentionClockRatio).toBeUndefined();
    expect(attentionLevel(att, "bf16", false)).toBe(0.5);
    expect(applyCalibration(b, file({ gemm: { bf16: { value: 0.6, spread } } }), "x").efficiency.attentionClockRatio).toBe(0.815);
  });

  it("the same for GB200's FP8-run ratio: dropped with the user's attention levels, kept with GEMM levels only", () => {
    const g = gpu("GB200");
    const gbFile = (kernels: CalibrationFile["kernels"]): CalibrationFile => ({ ...file(kernels), gpu: "GB200" });
    const att = applyCalibration(g, gbFile({ attentionBackward: { bf16: { value: 0.5, spread } } }), "x");
    expect(att.efficiency.fp8RunAttentionClockRatio).toBeUndefined();
    expect(attentionLevel(att, "bf16", true, "fp8")).toBe(0.5);
    expect(applyCalibration(g, gbFile({ gemm: { fp8: { value: 0.6, spread } } }), "x").efficiency.fp8RunAttentionClockRatio).toBe(0.796);
  });
});
