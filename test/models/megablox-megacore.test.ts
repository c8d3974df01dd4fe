import { describe, expect, it } from "vitest";
import { scenarioFromObject } from "../../experiments/load.ts";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import { coreSplitFactor } from "../../models/compute/gemm-efficiency.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";

const getGpu = (name: string) => CATALOG[name]!;
import { layerBackwardKernels, layerForwardKernels, layerRecomputeKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape } from "../../models/workload/memory.ts";

describe("Megablox on a megacore chip: the TensorCores share each grouped matmul's column tiles (workload.moe.gmmTileCols)", () => {
  it("the busiest core of t column tiles over two cores: 2·⌈t/2⌉/t of the even time", () => {
    const split = { cores: 2, tileCols: 1024, colBlocks: 1 };
    // DeepSeek-V3's hidden 7168 as output columns: 7 tiles, one core takes 4.
    expect(coreSplitFactor(7168, split)).toBeCloseTo(8 / 7, 12);
    // Its expert width 2048 (2 tiles) and Mixtral's 14336 (14) and 4096 (4): even, no loss.
    expect(coreSplitFactor(2048, split)).toBe(1);
    expect(coreSplitFactor(14336, split)).toBe(1);
    expect(coreSplitFactor(4096, split)).toBe(1);
    // A fused gate+up of 2 × 3072 columns is two calls of 3 tiles each: 4/3, not the 6 tiles' 1.
    expect(coreSplitFactor(6144, { ...split, colBlocks: 2 })).toBeCloseTo(4 / 3, 12);
    // A partial last tile counts as a tile (megablox's irregular tiles_n): 7000 columns are still 7 tiles.
    expect(coreSplitFactor(7000, split)).toBeCloseTo(8 / 7, 12);
    expect(coreSplitFactor(7168, { ...split, cores: 1 })).toBe(1);
  });

  it("a split GEMM's math takes that factor longer on TPU-v5p", () => {
    const gpu = getGpu("TPU-v5p");
    const base: Kernel = { name: "g", kind: "gemm", flops: 2 * 8192 * 7168 * 2048, bytes: 2 * (8192 * 2048 + 2048 * 7168 + 8192 * 7168), gemm: { m: 8192, n: 7168, k: 2048 }, launches: 1 };
    const split: Kernel = { ...base, gemm: { ...base.gemm!, coreSplit: { cores: 2, tileCols: 1024, colBlocks: 1 } } };
    const a = kernelCost(base, gpu, "bf16");
    const b = kernelCost(split, gpu, "bf16");
    expect(a.bound).toBe("sm");
    expect(b.smWork / a.smWork).toBeCloseTo(8 / 7, 9);
    expect(b.hbmWork).toBe(a.hbmWork);
  });

  it("the catalog states the megacore of TPU v4 and v5p with its source, and no GPU has one", () => {
    for (const name of ["TPU-v4", "TPU-v5p"]) {
      const gpu = getGpu(name);
      expect(gpu.megacoreTensorCores).toBe(2);
      expect(gpu.sources["megacoreTensorCores"]).toMatch(/pipelining\.md/);
    }
    expect(getGpu("H100-SXM").megacoreTensorCores).toBeUndefined();
  });

  const deepseek = (gpu: string, moe: Record<string, unknown>) =>
    scenarioFromObject(
      {
        cluster: { gpu, gpusPerNode: 4, nodes: 2, ...(gpu.startsWith("TPU") ? { network: { topology: "torus" } } : {}) },
        workload: { model: "deepseek-v3", seqLength: 4096, globalBatch: 8, moe },
        parallelism: { dp: 8, zero: 3, microBatch: 1 },
      },
      { baseDir: ".", name: "t" },
    );

  it("DeepSeek-V3 on v5p: fc2, fc2's weight gradient and fc1's input gradient (7168 columns) are split unevenly, the rest evenly", () => {
    const s = deepseek("TPU-v5p", { gmmTileRows: 512, gmmTileCols: 1024 });
    expect(s.workload.moe?.gmmTileCols).toBe(1024);
    const x = layerShape(s);
    const kernels = [...layerForwardKernels(x).kernels, ...layerBackwardKernels(x).kernels];
    const factor = (name: string): number => {
      const k = kernels.find((q) => q.name === name)!;
      expect(k.gemm?.coreSplit).toBeDefined();
      return coreSplitFactor(k.gemm!.n, k.gemm!.coreSplit!);
    };
    expect(factor("expert.fc1")).toBe(1);
    expect(factor("expert.fc1.wgrad")).toBe(1);
    expect(factor("expert.fc2.dgrad")).toBe(1);
    expect(factor("expert.fc2")).toBeCloseTo(8 / 7, 12);
    expect(factor("expert.fc2.wgrad")).toBeCloseTo(8 / 7, 12);
    expect(factor("expert.fc1.dgrad")).toBeCloseTo(8 / 7, 12);
    // The recomputed forward (remat) runs the same calls.
    const re = layerRecomputeKernels(x, "full").kernels.find((k) => k.name === "expert.fc2")!;
    expect(coreSplitFactor(re.gemm!.n, re.gemm!.coreSplit!)).toBeCloseTo(8 / 7, 12);
    // Dense GEMMs are XLA's, not Pallas kernels: no split.
    expect(kernels.find((k) => k.name === "shared.fc2")?.gemm?.coreSplit).toBeUndefined();
  });

  it("no split without gmmTileCols or on a chip without a megacore; gmmTileCols alone is refused", () => {
    const split = (s: ReturnType<typeof deepseek>) => layerForwardKernels(layerShape(s)).kernels.find((k) => k.name === "expert.fc2")?.gemm?.coreSplit;
    expect(split(deepseek("TPU-v5p", { gmmTileRows: 512 }))).toBeUndefined();
    expect(split(deepseek("H100-SXM", { gmmTileRows: 512, gmmTileCols: 1024 }))).toBeUndefined();
    expect(() => deepseek("TPU-v5p", { gmmTileCols: 1024 })).toThrow(/gmmTileCols/);
  });
});
