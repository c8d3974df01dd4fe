import { describe, expect, it } from "vitest";
import { scenarioFromObject } from "../../experiments/load.ts";
import { layerBackwardKernels, layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape } from "../../models/workload/memory.ts";
import { scenario, TINY_MODEL } from "../helpers/scenario.ts";

const flash = (list: { kernels: { name: string; flops: number; bytes: number }[] }, name: string) => list.kernels.find((k) => k.name === name)!;

describe("flash-attention backward as two kernels (workload.flashBackward split)", () => {
  const x = layerShape(scenario({ nodes: 1, gpusPerNode: 1, model: TINY_MODEL, seqLength: 2048, globalBatch: 1, plan: { tp: 1, dp: 1 } }));

  it("fused: five products for the forward's two; split: seven, one forward's FLOPs and bytes more", () => {
    const fwd = flash(layerForwardKernels(x), "attention.flash");
    // TINY_MODEL: 32 heads of 128, one sequence of 2048, causal: 2·s²·h·(d_qk + d_v)·(visited ≈ 1/2).
    expect(fwd.flops).toBeGreaterThan(0);
    const fused = flash(layerBackwardKernels(x), "attention.flash.bwd");
    const split = flash(layerBackwardKernels({ ...x, flashBackward: "split" }), "attention.flash.bwd");
    expect(fused.flops).toBeCloseTo(2.5 * fwd.flops, 3);
    expect(split.flops).toBeCloseTo(3.5 * fwd.flops, 3);
    expect(split.flops - fused.flops).toBeCloseTo(fwd.flops, 3);
    expect(split.bytes - fused.bytes).toBeCloseTo(fwd.bytes, 3);
  });

  it("the loader keeps split, and fused (the default) leaves the workload as before", () => {
    const load = (w: Record<string, unknown>) => scenarioFromObject({ cluster: { gpu: "TPU-v5p", gpusPerNode: 4, nodes: 2, network: { topology: "torus" } }, workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 8, ...w } }, { baseDir: ".", name: "t" });
    expect(load({ flashBackward: "split" }).workload.flashBackward).toBe("split");
    expect(load({ flashBackward: "fused" }).workload.flashBackward).toBeUndefined();
    expect(load({}).workload.flashBackward).toBeUndefined();
    expect(() => load({ flashBackward: "halved" })).toThrow(/workload.flashBackward/);
  });
});
