import { describe, expect, it } from "vitest";
import { scenarioFromObject } from "../../experiments/load.ts";
import type { Kernel } from "../../models/compute/kernel.ts";
import { fp8BackwardPlan, quantizeBytesPerElement, quantizeLaunches, type Fp8Recipe } from "../../models/workload/fp8.ts";
import { layerBackwardKernels, layerForwardKernels, type LayerShape } from "../../models/workload/layer-kernels.ts";
import { smallFp8Layer } from "../helpers/fp8-layer.ts";

// torchao.float8's recipes (Float8LinearConfig.from_recipe_name; cast traffic from torchao's
// roofline_utils.get_tensor_memory_traffic_ovhd_s, unfused). Small layer: hidden 1024, MLP 4096, 2048 tokens.
const T = 2048;
const H = 1024;
// One micro-batch per step (the torchao runs: batch 1 per GPU): weights cast every step.
const shape = (recipe: Fp8Recipe): LayerShape => smallFp8Layer({ recipe, microBatches: 1, gradAccumulationFusion: false });

function byName(list: Kernel[], name: string): Kernel | undefined {
  return list.find((x) => x.name === name);
}

describe("torchao float8 recipes: bytes per BF16 source element, by hand", () => {
  it("tensorwise: amax read (2) + cast read (2) writing both FP8 layouts (1 + 1); weight: amax + two casts", () => {
    expect(quantizeBytesPerElement("tensorwise", 2, "input")).toBe(2 + 2 + 2);
    expect(quantizeBytesPerElement("tensorwise", 2, "grad")).toBe(6);
    expect(quantizeBytesPerElement("tensorwise", 2, "weight")).toBe(2 + (2 + 1) + (2 + 1));
    expect(quantizeLaunches("tensorwise", "input")).toBe(3);
    expect(quantizeLaunches("tensorwise", "weight")).toBe(4);
  });

  it("rowwise: row cast writing FP8 and a BF16 transpose (2 + 1 + 2), then the transpose's cast (2 + 1)", () => {
    expect(quantizeBytesPerElement("rowwise", 2, "input")).toBe(5 + 3);
    expect(quantizeBytesPerElement("rowwise", 2, "grad")).toBe(8);
    // weight: forward cast (3), transpose (read 2, write 2), its cast (3).
    expect(quantizeBytesPerElement("rowwise", 2, "weight")).toBe(3 + 4 + 3);
    expect(quantizeLaunches("rowwise", "input")).toBe(2);
    expect(quantizeLaunches("rowwise", "weight")).toBe(3);
  });

  it("rowwise-gw-hp: one row-wise cast of input and grad (2 + 1); weight: row-wise and tensorwise casts", () => {
    expect(quantizeBytesPerElement("rowwise-gw-hp", 2, "input")).toBe(3);
    expect(quantizeBytesPerElement("rowwise-gw-hp", 2, "grad")).toBe(3);
    expect(quantizeBytesPerElement("rowwise-gw-hp", 2, "weight")).toBe(6);
    expect(quantizeLaunches("rowwise-gw-hp", "input")).toBe(1);
  });

  it("Transformer Engine's recipes do not depend on the role", () => {
    for (const r of ["delayed", "current", "blockwise", "mxfp8"] as const) {
      expect(quantizeBytesPerElement(r, 2, "weight")).toBe(quantizeBytesPerElement(r, 2, "input"));
      expect(quantizeBytesPerElement(r, 2, "grad")).toBe(quantizeBytesPerElement(r, 2));
    }
  });
});

describe("torchao float8 recipes in a layer", () => {
  it("the fc2 casts of each recipe: input T·4h, weight 4h·h, grad T·h", () => {
    const cases: [Fp8Recipe, number, number, number][] = [
      ["tensorwise", 6, 8, 6],
      ["rowwise", 8, 10, 8],
      ["rowwise-gw-hp", 3, 6, 3],
    ];
    for (const [r, input, weight, grad] of cases) {
      const fwd = layerForwardKernels(shape(r)).kernels;
      expect(byName(fwd, "fc2.fp8-cast-input")!.bytes).toBe(input * T * 4 * H);
      expect(byName(fwd, "fc2.fp8-cast-weight")!.bytes).toBe(weight * 4 * H * H);
      const bwd = layerBackwardKernels(shape(r)).kernels;
      expect(byName(bwd, "fc2.fp8-cast-grad")!.bytes).toBe(grad * T * H);
    }
  });

  it("rowwise: dgrad and wgrad run as FP8 GEMMs, each followed by a rescale pass over its BF16 output (read 2, write 2)", () => {
    expect(fp8BackwardPlan("rowwise")).toEqual({ wgradInBf16: false, rescaleOutputs: true });
    const bwd = layerBackwardKernels(shape("rowwise")).kernels;
    expect(byName(bwd, "fc2.dgrad")!.precision).toBe("fp8");
    expect(byName(bwd, "fc2.wgrad")!.precision).toBe("fp8");
    // dgrad of fc2 writes dX [T, 4h]; wgrad writes dW [4h, h].
    const dg = byName(bwd, "fc2.dgrad.fp8-rescale")!;
    expect(dg.kind).toBe("memory");
    expect(dg.bytes).toBe(4 * T * 4 * H);
    expect(byName(bwd, "fc2.wgrad.fp8-rescale")!.bytes).toBe(4 * 4 * H * H);
    // tensorwise has no rescale pass.
    expect(layerBackwardKernels(shape("tensorwise")).kernels.some((k) => k.name.endsWith(".fp8-rescale"))).toBe(false);
  });

  it("rowwise-gw-hp: the weight-gradient GEMM is BF16 (2-byte inputs, same FLOPs), dgrad stays FP8", () => {
    const bwd = layerBackwardKernels(shape("rowwise-gw-hp")).kernels;
    const w = byName(bwd, "fc2.wgrad")!;
    expect(w.precision).toBe("bf16");
    // fc2: m = T, k = 4h, n = h; wgrad = [4h, h] over inner T: 2·4h·h·T FLOPs, inputs 2 B, output 2 B.
    expect(w.flops).toBe(2 * 4 * H * H * T);
    expect(w.bytes).toBe(2 * (4 * H * T + T * H) + 2 * 4 * H * H);
    expect(byName(bwd, "fc2.dgrad")!.precision).toBe("fp8");
    expect(bwd.some((k) => k.name.endsWith(".fp8-rescale"))).toBe(false);
    // The same wgrad in the rowwise recipe reads FP8 inputs.
    const fp8w = byName(layerBackwardKernels(shape("rowwise")).kernels, "fc2.wgrad")!;
    expect(fp8w.flops).toBe(w.flops);
    expect(fp8w.bytes).toBe(1 * (4 * H * T + T * H) + 2 * 4 * H * H);
  });
});

describe("workload.fp8Recipe: torchao's recipes in configs", () => {
  it("loads on H100 and MI300X (no microscaling hardware needed)", () => {
    for (const gpu of ["H100-SXM", "MI300X"]) {
      for (const r of ["tensorwise", "rowwise", "rowwise-gw-hp"]) {
        const s = scenarioFromObject({ cluster: { gpu, nodes: 1 }, workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 64, precision: "fp8", fp8Recipe: r }, parallelism: { tp: 2 } }, { baseDir: import.meta.dirname });
        expect(s.workload.fp8Recipe).toBe(r);
      }
    }
  });

  it("an unknown recipe names every allowed one", () => {
    expect(() =>
      scenarioFromObject({ cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 64, precision: "fp8", fp8Recipe: "rowwise_with_gw_hp" }, parallelism: { tp: 2 } }, { baseDir: import.meta.dirname }),
    ).toThrow(/workload\.fp8Recipe: "rowwise_with_gw_hp" is not allowed; expected one of "delayed", "current", "mxfp8", "blockwise", "tensorwise", "rowwise", "rowwise-gw-hp"/);
  });
});

describe("row-wise-scaled FP8 GEMMs (catalog fp8RowwiseGemmRelative)", () => {
  it("H100-SXM: 0.95 of tensorwise, the middle of pytorch/pytorch#147971's 90-100 % band; MI300X has no measurement (1)", async () => {
    const { CATALOG: ACCELERATORS } = await import("../../models/hardware/catalog.ts");
    expect(ACCELERATORS["H100-SXM"]!.efficiency.fp8RowwiseGemmRelative).toBe(0.95);
    expect(ACCELERATORS["H100-SXM"]!.sources["efficiency.fp8RowwiseGemmRelative"]).toMatch(/#147971/);
    expect(ACCELERATORS["MI300X"]!.efficiency.fp8RowwiseGemmRelative).toBeUndefined();
  });

  it("only the forward GEMMs of the rowwise recipes carry the row-wise tag; a large square one reaches 0.95 x the FP8 fraction", async () => {
    const { CATALOG: ACCELERATORS } = await import("../../models/hardware/catalog.ts");
    const { kernelCost } = await import("../../models/compute/kernel.ts");
    const fwd = layerForwardKernels(shape("rowwise")).kernels;
    expect(byName(fwd, "fc2")!.fp8Scaling).toBe("rowwise");
    expect(byName(layerForwardKernels(shape("tensorwise")).kernels, "fc2")!.fp8Scaling).toBeUndefined();
    expect(byName(layerBackwardKernels(shape("rowwise")).kernels, "fc2.dgrad")!.fp8Scaling).toBeUndefined();
    const h100 = ACCELERATORS["H100-SXM"]!;
    const n = 16384;
    const square: Kernel = { name: "sq", kind: "gemm", flops: 2 * n ** 3, bytes: 3 * n * n, gemm: { m: n, n, k: n }, launches: 0, precision: "fp8" };
    const tensorwise = kernelCost(square, h100, "fp8");
    const rowwise = kernelCost({ ...square, fp8Scaling: "rowwise" }, h100, "fp8");
    expect(rowwise.smWork / tensorwise.smWork).toBeCloseTo(1 / 0.95, 6);
  });
});
