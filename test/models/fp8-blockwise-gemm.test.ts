/**
 * Block-scaled FP8 GEMMs against per-tensor FP8 on Hopper (catalog efficiency.fp8BlockwiseGemmRelative).
 * Source: Transformer Engine's benchmarks/gemm/benchmark_gemm.py on one H200 NVL,
 * docs/examples/gemm_profiling/gemm_profiling.rst (commit 8f2e635), 'Worked Example: 5B Model on H200':
 * per-layer time of the 12 GEMMs of a hidden 4096 / ffn 16384 layer at 15,872 tokens, each a te.Linear
 * call under te.autocast (quantization included): FP8 CurrentScaling 20.285 ms (fprop 6.503, dgrad 6.795,
 * wgrad 6.987), FP8 Block Scaling 22.882 ms (7.425, 7.636, 7.821); pre-quantized (GEMMs alone) FP8
 * CurrentScaling 16.785 ms (5.577, 5.661, 5.547). Block scaling has no pre-quantized run on Hopper, so its
 * quantization is taken out with trainsim's own bytes model (fp8.ts), which the current-scaling pair checks.
 */
import { describe, expect, it } from "vitest";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { quantizeBytesPerElement } from "../../models/workload/fp8.ts";
import { spreadOf } from "../../models/uncertainty/spreads.ts";
import { describeScaledGemm } from "../helpers/scaled-fp8-gemm.ts";

const gpu = (name: string): Accelerator => CATALOG[name] as Accelerator;

/** The benchmark's 12 GEMMs (M, K, N) and the elements each te.Linear call quantizes (its input and its weight). */
const M = 15872;
const H = 4096;
const I = 16384;
const SHAPES: [number, number, number][] = [
  [M, H, 3 * H], [M, H, H], [M, H, I], [M, I, H], // fprop
  [M, 3 * H, H], [M, H, H], [M, I, H], [M, H, I], // dgrad
  [H, M, 3 * H], [H, M, H], [H, M, I], [I, M, H], // wgrad
];
const QUANTIZED = SHAPES.reduce((s, [m, k, n]) => s + m * k + k * n, 0);

describe("the ratio, by hand from Transformer Engine's H200 NVL table", () => {
  const current = quantizeBytesPerElement("current", 2);
  const block = quantizeBytesPerElement("blockwise", 2);

  it("trainsim's quantization bytes reproduce current scaling's measured overhead (20.285 - 16.785 = 3.500 ms) within 3 %", () => {
    expect(current).toBe(6);
    expect(block).toBeCloseTo(4.0625, 6);
    const h200 = gpu("H200");
    const seconds = (QUANTIZED * current) / (h200.hbmBandwidth * h200.efficiency.hbmPeakFraction);
    expect(seconds * 1e3).toBeCloseTo(3.59, 2);
    expect(Math.abs((seconds * 1e3) / (20.285 - 16.785) - 1)).toBeLessThan(0.03);
  });

  it("block quantization 3.500 x 4.0625 / 6 = 2.370 ms; block GEMMs 20.512 ms against 16.785: 0.818 on H100 and H200", () => {
    const blockGemms = 22.882 - (20.285 - 16.785) * (block / current);
    expect(blockGemms).toBeCloseTo(20.512, 3);
    expect(16.785 / blockGemms).toBeCloseTo(0.818, 3);
    for (const name of ["H100-SXM", "H200"]) {
      expect(gpu(name).efficiency.fp8BlockwiseGemmRelative, name).toBe(0.818);
      expect(gpu(name).sources["efficiency.fp8BlockwiseGemmRelative"], name).toMatch(/TransformerEngine.*H200 NVL.*22\.882/);
    }
  });

  it("the spread: per pass 0.810 (wgrad) to 0.824 (dgrad) below, 0.866 (block quantization as costly as current scaling's) above", () => {
    const pass = (blockAuto: number, currentAuto: number, currentPre: number): number => currentPre / (blockAuto - (currentAuto - currentPre) * (4.0625 / 6));
    expect(pass(7.425, 6.503, 5.577)).toBeCloseTo(0.820, 3);
    expect(pass(7.636, 6.795, 5.661)).toBeCloseTo(0.824, 3);
    expect(pass(7.821, 6.987, 5.547)).toBeCloseTo(0.810, 3);
    for (const name of ["H100-SXM", "H200"]) {
      const sp = spreadOf(gpu(name), "efficiency.fp8BlockwiseGemmRelative");
      expect(0.818 * (1 + sp.low), name).toBeCloseTo(pass(7.821, 6.987, 5.547), 6);
      expect(0.818 * (1 + sp.high), name).toBeCloseTo(16.785 / (22.882 - 3.5), 6);
    }
  });

  it("absent off Hopper's cuBLASLt path (H800's DeepGEMM runs, Blackwell, AMD): 1", () => {
    for (const name of ["H800", "B200", "GB200", "MI300X"]) expect(gpu(name).efficiency.fp8BlockwiseGemmRelative, name).toBeUndefined();
  });
});

describeScaledGemm({ recipe: "blockwise", tag: "blockwise", gpu: "H100-SXM", ratio: 0.818, fp8Level: 0.652, fp8Peak: 1978.9e12, without: "B200" });
