/**
 * The tests an FP8 GEMM scaling with its own catalog ratio shares (MXFP8, block-scaled): which
 * GEMMs of a layer carry its tag, and what the tag does to a large square GEMM's cost.
 */
import { describe, expect, it } from "vitest";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import type { Fp8Recipe } from "../../models/workload/fp8.ts";
import { layerBackwardKernels, layerForwardKernels, type LayerShape } from "../../models/workload/layer-kernels.ts";
import { smallFp8Layer } from "./fp8-layer.ts";

const gpu = (name: string): Accelerator => CATALOG[name] as Accelerator;
const shape = (recipe: Fp8Recipe): LayerShape => smallFp8Layer({ recipe, microBatches: 1, gradAccumulationFusion: true });
const fp8Gemms = (list: Kernel[]): Kernel[] => list.filter((k) => k.kind === "gemm" && k.precision === "fp8");

export interface ScaledGemmCase {
  recipe: Fp8Recipe;
  tag: NonNullable<Kernel["fp8Scaling"]>;
  /** A GPU with the ratio, its value, its per-tensor FP8 level and FP8 peak (FLOP/s). */
  gpu: string;
  ratio: number;
  fp8Level: number;
  fp8Peak: number;
  /** A GPU without the ratio. */
  without: string;
}

export function describeScaledGemm(c: ScaledGemmCase): void {
  describe(`which GEMMs carry the ${c.tag} tag`, () => {
    it(`a ${c.recipe} layer: every FP8 GEMM, forward and backward (qkv, proj, fc1, fc2 and their dgrad / wgrad: 12)`, () => {
      const fwd = fp8Gemms(layerForwardKernels(shape(c.recipe)).kernels);
      const bwd = fp8Gemms(layerBackwardKernels(shape(c.recipe)).kernels);
      expect(fwd.map((k) => k.name).sort()).toEqual(["fc1", "fc2", "proj", "qkv"]);
      expect(bwd).toHaveLength(8);
      for (const k of [...fwd, ...bwd]) expect(k.fp8Scaling, k.name).toBe(c.tag);
    });

    it("per-tensor recipes (delayed, current) carry none; the BF16 kernels of the layer stay untagged", () => {
      for (const recipe of ["delayed", "current"] as const) {
        for (const k of [...layerForwardKernels(shape(recipe)).kernels, ...layerBackwardKernels(shape(recipe)).kernels]) expect(k.fp8Scaling, `${recipe} ${k.name}`).toBeUndefined();
      }
      for (const k of layerForwardKernels(shape(c.recipe)).kernels) if (k.precision !== "fp8") expect(k.fp8Scaling, k.name).toBeUndefined();
    });
  });

  describe("cost", () => {
    const n = 16384;
    const square: Kernel = { name: "sq", kind: "gemm", flops: 2 * n ** 3, bytes: 3 * n * n, gemm: { m: n, n, k: n }, launches: 0, precision: "fp8" };

    it(`a large square FP8 GEMM on ${c.gpu}: ${c.tag} takes 1 / ${c.ratio} of the per-tensor time (${c.fp8Level} x ${c.ratio} of the FP8 peak)`, () => {
      const g = gpu(c.gpu);
      const perTensor = kernelCost(square, g, "fp8");
      const scaled = kernelCost({ ...square, fp8Scaling: c.tag }, g, "fp8");
      expect(scaled.seconds / perTensor.seconds).toBeCloseTo(1 / c.ratio, 6);
      expect(square.flops / scaled.seconds / c.fp8Peak).toBeCloseTo(c.fp8Level * c.ratio, 3);
    });

    it("the tag changes nothing where the GPU has no ratio, or on a BF16 GEMM", () => {
      const w = gpu(c.without);
      expect(kernelCost({ ...square, fp8Scaling: c.tag }, w, "fp8").seconds).toBe(kernelCost(square, w, "fp8").seconds);
      const g = gpu(c.gpu);
      const bf16 = { ...square, precision: "bf16" as const };
      expect(kernelCost({ ...bf16, fp8Scaling: c.tag }, g, "fp8").seconds).toBe(kernelCost(bf16, g, "fp8").seconds);
    });
  });
}
