/**
 * MXFP8 GEMMs against per-tensor FP8 (catalog efficiency.mxfp8GemmRelative). Source: Transformer
 * Engine's benchmarks/gemm/benchmark_gemm.py on one B300 with --pre-quantize (GEMM kernels only),
 * docs/examples/gemm_profiling/gemm_profiling.rst (commit 8f2e635): per-layer GEMM time of a hidden
 * 4096 / ffn 16384 layer at 15,872 tokens, FP8 CurrentScaling 6.812 ms, MXFP8 7.161 ms (fprop 2.158 /
 * 2.365, dgrad 2.329 / 2.397, wgrad 2.325 / 2.400). Every GEMM of an MXFP8 linear layer (forward,
 * dgrad, wgrad) runs the block-scaled kernel.
 */
import { describe, expect, it } from "vitest";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { spreadOf } from "../../models/uncertainty/spreads.ts";
import { describeScaledGemm } from "../helpers/scaled-fp8-gemm.ts";

const gpu = (name: string): Accelerator => CATALOG[name] as Accelerator;

describe("the ratio, by hand from Transformer Engine's B300 table", () => {
  it("per-layer 6.812 / 7.161 = 0.951 on B200, GB200 and GB300; per pass 0.912 (fprop) to 0.972 (dgrad)", () => {
    expect(6.812 / 7.161).toBeCloseTo(0.951, 3);
    for (const name of ["B200", "GB200", "GB300"]) {
      expect(gpu(name).efficiency.mxfp8GemmRelative, name).toBe(0.951);
      expect(gpu(name).sources["efficiency.mxfp8GemmRelative"], name).toMatch(/TransformerEngine.*7\.161/);
    }
    const sp = spreadOf(gpu("GB300"), "efficiency.mxfp8GemmRelative");
    expect(0.951 * (1 + sp.low)).toBeCloseTo(2.158 / 2.365, 6);
    expect(0.951 * (1 + sp.high)).toBeCloseTo(2.329 / 2.397, 6);
    // B200 and GB200 take it from B300: the derivation default.
    expect(spreadOf(gpu("GB200"), "efficiency.mxfp8GemmRelative").high).toBeCloseTo(0.1, 6);
  });

  it("absent where MXFP8 does not run (Hopper): 1", () => {
    expect(gpu("H100-SXM").efficiency.mxfp8GemmRelative).toBeUndefined();
  });
});

describeScaledGemm({ recipe: "mxfp8", tag: "mxfp8", gpu: "GB200", ratio: 0.951, fp8Level: 0.575, fp8Peak: 5e15, without: "H100-SXM" });
