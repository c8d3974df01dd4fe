/**
 * MXFP8 GEMMs against per-tensor FP8 (catalog efficiency.mxfp8GemmRelative). Source: Transformer
 * Engine's benchmarks/gemm/benchmark_gemm.py on one B300 with --pre-quantize (GEMM kernels only),
 * docs/examples/gemm_profiling/gemm_profiling.rst (commit 8f2e635): per-layer GEMM time of a hidden
 * 4096 / ffn 16384 layer at 15,872 tokens, FP8 CurrentScaling 6.812 ms, MXFP8 7.161 ms (fprop 2.158 /
 * 2.365, dgrad 2.329 / 2.397, wgrad 2.325 / 2.400). Every GEMM of an MXFP8 linear layer (forward,
 * dgrad, wgrad) runs the block-scaled kernel.
 */
import { describe, expect, it } from "vitest";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import type { Fp8Recipe } from "../../models/workload/fp8.ts";
import { layerBackwardKernels, layerForwardKernels, type LayerShape } from "../../models/workload/layer-kernels.ts";
import { spreadOf } from "../../models/uncertainty/spreads.ts";
import { smallFp8Layer } from "../helpers/fp8-layer.ts";

const gpu = (name: string): Accelerator => CATALOG[name] as Accelerator;
const shape = (recipe: Fp8Recipe): LayerShape => smallFp8Layer({ recipe, microBatches: 1, gradAccumulationFusion: true });
const fp8Gemms = (list: Kernel[]): Kernel[] => list.filter((k) => k.kind === "gemm" && k.precision === "fp8");

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

describe("which GEMMs carry the MXFP8 tag", () => {
  it("an MXFP8 layer: every FP8 GEMM, forward and backward (qkv, proj, fc1, fc2 and their dgrad / wgrad: 12)", () => {
    const fwd = fp8Gemms(layerForwardKernels(shape("mxfp8")).kernels);
    const bwd = fp8Gemms(layerBackwardKernels(shape("mxfp8")).kernels);
    expect(fwd.map((k) => k.name).sort()).toEqual(["fc1", "fc2", "proj", "qkv"]);
    expect(bwd).toHaveLength(8);
    for (const k of [...fwd, ...bwd]) expect(k.fp8Scaling, k.name).toBe("mxfp8");
  });

  it("per-tensor recipes (delayed, current) carry none; attention and the output layer stay BF16 untagged", () => {
    for (const recipe of ["delayed", "current"] as const) {
      for (const k of [...layerForwardKernels(shape(recipe)).kernels, ...layerBackwardKernels(shape(recipe)).kernels]) expect(k.fp8Scaling, `${recipe} ${k.name}`).toBeUndefined();
    }
    for (const k of layerForwardKernels(shape("mxfp8")).kernels) if (k.precision !== "fp8") expect(k.fp8Scaling, k.name).toBeUndefined();
  });
});

describe("cost", () => {
  const n = 16384;
  const square: Kernel = { name: "sq", kind: "gemm", flops: 2 * n ** 3, bytes: 3 * n * n, gemm: { m: n, n, k: n }, launches: 0, precision: "fp8" };

  it("a large square FP8 GEMM on GB200: MXFP8 takes 1 / 0.951 of the per-tensor time (0.575 x 0.951 = 0.547 of the FP8 peak)", () => {
    const g = gpu("GB200");
    const perTensor = kernelCost(square, g, "fp8");
    const mx = kernelCost({ ...square, fp8Scaling: "mxfp8" }, g, "fp8");
    expect(mx.seconds / perTensor.seconds).toBeCloseTo(1 / 0.951, 6);
    expect(square.flops / mx.seconds / 5e15).toBeCloseTo(0.575 * 0.951, 3);
  });

  it("the tag changes nothing where the GPU has no ratio, or on a BF16 GEMM", () => {
    const h = gpu("H100-SXM");
    expect(kernelCost({ ...square, fp8Scaling: "mxfp8" }, h, "fp8").seconds).toBe(kernelCost(square, h, "fp8").seconds);
    const g = gpu("GB200");
    const bf16 = { ...square, precision: "bf16" as const };
    expect(kernelCost({ ...bf16, fp8Scaling: "mxfp8" }, g, "fp8").seconds).toBe(kernelCost(bf16, g, "fp8").seconds);
  });
});
