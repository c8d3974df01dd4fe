/**
 * XLA's sort-and-gather of token rows on TPU v5p (catalog efficiency.gatherPeakFraction): a MoE
 * layer's permute, unpermute and their backward move their rows at the rate measured for the same
 * ops timed alone on one v5p chip (marin-community/marin moe_hillclimb_harness.md at eada70a3,
 * E=64 top-2, 32768 tokens of 2048 bf16: pack 1.205 ms, combine 2.148 ms), everything else as before.
 */
import { describe, expect, it } from "vitest";
import { scenarioFromObject } from "../../experiments/load.ts";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import { layerBackwardKernels, layerForwardKernels, layerRecomputeKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape } from "../../models/workload/memory.ts";

const v5p = CATALOG["TPU-v5p"]!;

describe("the sort-and-gather of token rows on TPU v5p", () => {
  it("the harness's pack and combine together: 2 × (2 B · 2 · 65536 rows · 2048) = 1.074 GB in 3.35 ms (measured 1.205 + 2.148 = 3.353)", () => {
    const bytes = 2 * (2 * 2 * 65536 * 2048);
    const k: Kernel = { name: "expert.permute", kind: "memory", flops: 0, bytes, launches: 0, gather: true };
    const c = kernelCost(k, v5p, "bf16");
    // 1073741824 / (2765e9 · 0.116) = 3.3477 ms
    expect(c.seconds).toBeCloseTo(1073741824 / (2765e9 * 0.116), 12);
    expect(c.seconds).toBeCloseTo(3.353e-3, 4);
    // The same bytes as a stream: 1073741824 / (2765e9 · 0.834) = 0.466 ms, 7.2 times faster.
    const stream = kernelCost({ ...k, gather: false }, v5p, "bf16");
    expect(stream.seconds).toBeCloseTo(1073741824 / (2765e9 * 0.834), 12);
  });

  it("a chip without the constant (every GPU, TPU v4) prices a gather as any stream", () => {
    for (const name of ["H100-SXM", "TPU-v4"]) {
      const gpu = CATALOG[name]!;
      expect(gpu.efficiency.gatherPeakFraction).toBeUndefined();
      const k: Kernel = { name: "expert.permute", kind: "memory", flops: 0, bytes: 1e9, launches: 0, gather: true };
      expect(kernelCost(k, gpu, "bf16").seconds).toBe(kernelCost({ ...k, gather: false }, gpu, "bf16").seconds);
    }
    expect(v5p.sources["efficiency.gatherPeakFraction"]).toMatch(/moe_hillclimb_harness\.md/);
  });

  it("Mixtral 8x7B under MaxText's remat full: permute, unpermute and their backward are gathers; the recompute re-runs both", () => {
    const s = scenarioFromObject(
      {
        cluster: { gpu: "TPU-v5p", gpusPerNode: 4, nodes: 2, network: { topology: "torus" } },
        workload: { model: "mixtral-8x7b", seqLength: 4096, globalBatch: 8, moe: { gmmTileRows: 512, gmmTileCols: 1024 } },
        parallelism: { dp: 8, zero: 3, microBatch: 1, remat: { policy: "full" } },
      },
      { baseDir: ".", name: "t" },
    );
    const x = layerShape(s);
    const gathers = (ks: Kernel[]): string[] => ks.filter((k) => k.gather === true).map((k) => k.name);
    expect(gathers(layerForwardKernels(x).kernels)).toEqual(["expert.permute", "expert.unpermute"]);
    expect(gathers(layerBackwardKernels(x).kernels)).toEqual(["expert.permute.bwd"]);
    const re = layerRecomputeKernels(x, "full").kernels;
    expect(gathers(re)).toEqual(["expert.permute", "expert.unpermute"]);
    // The weighted sum's backward reads fc2's outputs: fc2 re-runs too.
    expect(re.map((k) => k.name)).toContain("expert.fc2");
    // One sequence of 4096 tokens, top-2, hidden 4096, bf16: each forward gather moves 2 · 2 · 8192 · 4096 B.
    const permute = layerForwardKernels(x).kernels.find((k) => k.name === "expert.permute")!;
    expect(permute.bytes).toBe(2 * 2 * 8192 * 4096);
    // One launch of 1 µs (the catalog's per-op boundary) beside 134 MB at 0.116 of 2765 GB/s: 0.418 ms.
    expect(kernelCost(permute, v5p, "bf16").seconds).toBeCloseTo(permute.bytes / (2765e9 * 0.116) + permute.launches * 1e-6, 12);
  });
});
