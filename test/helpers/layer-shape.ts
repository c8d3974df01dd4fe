/** A LayerShape for kernel tests: bf16, fp32 gradients, flash attention, sequence parallel, no cp/ep. */
import type { LayerShape } from "../../models/workload/layer-kernels.ts";

export function testLayerShape(over: Pick<LayerShape, "model" | "microBatch" | "seqLength" | "tp"> & Partial<LayerShape>): LayerShape {
  return {
    cp: 1,
    ep: 1,
    sequenceParallel: true,
    attention: "flash",
    elementBytes: 2,
    gradBytes: 4,
    gradAccumulationFusion: true,
    gradAccumulateShare: 0,
    ...over,
  };
}
