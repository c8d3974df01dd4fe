import { describe, expect, it } from "vitest";
import type { Kernel } from "../../models/compute/kernel.ts";
import type { ModelSpec } from "../../models/scenario.ts";
import { testLayerShape } from "../helpers/layer-shape.ts";
import { denseModel } from "../helpers/scenario.ts";
import { layerBackwardKernels, layerForwardKernels, type LayerShape } from "../../models/workload/layer-kernels.ts";

// hidden 1024 (8 heads of 128, 2 KV heads), MLP 4096, 2 sequences of 1024 tokens, tp 2 with sequence parallelism.
const MODEL = denseModel({ name: "m", layers: 2, hidden: 1024, heads: 8, kvHeads: 2, ffn: 4096, vocab: 32768 });

function shape(model: Partial<ModelSpec>): LayerShape {
  return testLayerShape({ model: { ...MODEL, ...model }, microBatch: 2, seqLength: 1024, tp: 2 });
}

const named = (list: Kernel[], name: string): Kernel[] => list.filter((k) => k.name === name);

describe("kernels between the GEMMs, by hand", () => {
  it("RoPE on Q and K for rotary models: read and write each, two launches, forward and backward", () => {
    // Per rank: 2048 tokens × (4 query heads + 1 KV head) × 128 = 1,310,720 elements, 2 B in and out.
    const [fwd] = named(layerForwardKernels(shape({})).kernels, "rope");
    expect(fwd!.bytes).toBe(2 * 2 * 1_310_720);
    expect(fwd!.launches).toBe(2);
    const [bwd] = named(layerBackwardKernels(shape({})).kernels, "rope.bwd");
    expect(bwd!.bytes).toBe(fwd!.bytes);
    // Learned positions: no RoPE.
    expect(named(layerForwardKernels(shape({ positionEmbeddings: 2048 })).kernels, "rope")).toEqual([]);
  });

  it("bias gradients for biased models: one read of each output gradient, four reductions", () => {
    // QKV 2048 × (4 + 2·1)·128 = 1,572,864; fc1 2048 × 2048 = 4,194,304; proj and fc2 over the
    // sequence-parallel 1024 tokens × 1024 = 1,048,576 each: 7,864,320 elements of 2 B.
    const [k] = named(layerBackwardKernels(shape({ bias: true })).kernels, "bias-grad");
    expect(k!.bytes).toBe(2 * 7_864_320);
    expect(k!.launches).toBe(4);
    expect(named(layerBackwardKernels(shape({})).kernels, "bias-grad")).toEqual([]);
  });
});
