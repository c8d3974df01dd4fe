/**
 * Grouped GEMMs (MoE experts): the imperfect overlap of each group's weight stream with its
 * math, checked against DeepGEMM's published kernel table (deepseek-ai/DeepGEMM README at its
 * Feb 2025 release: FP8 with fine-grained scaling on H800, NVCC 12.8), on H100 SXM (the same
 * GH100 SMs, HBM3 at 3.35 TB/s).
 */
import { describe, expect, it } from "vitest";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import { overlappedSeconds } from "../../models/compute/gemm-efficiency.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";

const H100 = CATALOG["H100-SXM"] as Accelerator;

/** An FP8 grouped GEMM of `groups` × m rows (FP8 inputs, BF16 output, own weights per group). */
function grouped(groups: number, m: number, n: number, k: number, isGrouped = true): Kernel {
  return { name: "g", kind: "gemm", flops: 2 * groups * m * n * k, bytes: groups * (m * k + k * n + 2 * m * n), gemm: { m, n, k, batch: groups, ...(isGrouped ? { grouped: true } : {}) }, launches: 0, precision: "fp8" };
}

const tflops = (kn: Kernel): number => kn.flops / kernelCost(kn, H100, "fp8").seconds;

describe("grouped GEMM efficiency for small rows per group", () => {
  // Measured TFLOP/s for the same 1024 rows as 1, 2 and 4 groups (DeepGEMM masked layout).
  const measured = [
    { n: 4096, k: 7168, tflops: [1233, 1040, 932] },
    { n: 7168, k: 2048, tflops: [925, 916, 815] },
  ];

  for (const row of measured) {
    it(`N ${row.n}, K ${row.k}: splitting 1024 rows into 2 and 4 groups costs what DeepGEMM measured, within 12 %`, () => {
      const one = tflops(grouped(1, 1024, row.n, row.k));
      [2, 4].forEach((g, i) => {
        const ratio = tflops(grouped(g, 1024 / g, row.n, row.k)) / one;
        const published = (row.tflops[i + 1] as number) / (row.tflops[0] as number);
        expect(Math.abs(ratio / published - 1)).toBeLessThan(0.12);
      });
    });
  }

  it("large groups stay compute-bound: 8 × 4096 rows within 2 % of the same GEMM without the grouped overlap (DeepGEMM: 1288 grouped vs 1304 dense TFLOP/s)", () => {
    const g = tflops(grouped(8, 4096, 4096, 7168));
    const plain = tflops(grouped(8, 4096, 4096, 7168, false));
    expect(g / plain).toBeGreaterThan(0.98);
    expect(g).toBeLessThanOrEqual(plain);
  });

  it("the p-norm: never below the larger of compute and memory, never above their sum; dense keeps the maximum", () => {
    expect(overlappedSeconds(3, 4, true)).toBe(5);
    expect(overlappedSeconds(3, 4, false)).toBe(4);
    expect(overlappedSeconds(3, 0, true)).toBe(3);
  });
});
