/**
 * The flash kernel's block (workload.flashBlock): a causal mask skips only the key blocks wholly above
 * the diagonal and computes the diagonal ones in full (JAX splash attention, splash_attention_mask_info.py:
 * block_mask 0 all-masked and skipped, 1 partial, 2 full), so nb = s/b blocks a side compute
 * nb(nb+1)/2 of nb² blocks. Hand-computed: seq 8192 in blocks of 2048 computes 10 of 16 blocks (0.625),
 * in blocks of 128 65/128 of the square.
 */
import { describe, expect, it } from "vitest";
import { scenarioFromObject } from "../../experiments/load.ts";
import { layerBackwardKernels, layerForwardKernels, type LayerShape } from "../../models/workload/layer-kernels.ts";
import { testLayerShape } from "../helpers/layer-shape.ts";
import { denseModel } from "../helpers/scenario.ts";

const model = denseModel({ name: "m", layers: 2, hidden: 4096, heads: 32, kvHeads: 8, ffn: 14336, vocab: 32000 });
const shape = (flashBlock?: number): LayerShape => testLayerShape({ model, microBatch: 1, seqLength: 8192, tp: 1, sequenceParallel: false, ...(flashBlock !== undefined ? { flashBlock } : {}) });
const flash = (x: LayerShape, backward = false) =>
  (backward ? layerBackwardKernels(x) : layerForwardKernels(x)).kernels.find((k) => k.name === (backward ? "attention.flash.bwd" : "attention.flash"))!;

describe("workload.flashBlock: causal blocks on the diagonal are computed in full", () => {
  it("seq 8192: blocks of 2048 compute 10 of 16 blocks, of 128 65/128 of the square", () => {
    const square = 2 * 8192 * 8192 * 32 * (128 + 128);
    expect(flash(shape()).flops / square).toBeCloseTo(65 / 128, 12);
    expect(flash(shape(128)).flops).toBe(flash(shape()).flops);
    expect(flash(shape(2048)).flops / square).toBeCloseTo(10 / 16, 12);
    expect(flash(shape(512)).flops / square).toBeCloseTo(17 / 32, 12);
    // The backward scales with the same fraction.
    expect(flash(shape(2048), true).flops / flash(shape(), true).flops).toBeCloseTo((10 / 16) / (65 / 128), 12);
    // The keys a query row visits follow too.
    expect(flash(shape(2048)).attentionKeys).toBeCloseTo(8192 * (10 / 16), 9);
  });

  it("the loader takes it from workload.flashBlock", () => {
    const s = scenarioFromObject(
      { cluster: { gpu: "TPU-v5p", gpusPerNode: 4, nodes: 2, network: { topology: "torus" } }, workload: { model: "llama3-8b", seqLength: 8192, globalBatch: 8, flashBlock: 2048 }, parallelism: { dp: 8, microBatch: 1 } },
      { baseDir: ".", name: "t" },
    );
    expect(s.workload.flashBlock).toBe(2048);
  });
});
