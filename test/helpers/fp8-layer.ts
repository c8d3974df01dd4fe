import { fp8Settings, type Fp8Recipe } from "../../models/workload/fp8.ts";
import type { LayerShape } from "../../models/workload/layer-kernels.ts";
import { denseModel } from "./scenario.ts";

/** A small layer for FP8 kernel tests: hidden 1024 (8 heads of 128, no GQA), MLP 4096 ungated, 2048 tokens, one rank. */
export const SMALL_FP8_MODEL = denseModel({ name: "small", layers: 2, hidden: 1024, heads: 8, kvHeads: 8, ffn: 4096, vocab: 32768, positionEmbeddings: 2048 });

/** Its layer shape in BF16 with fp32 gradients; with a recipe, FP8 settings for `microBatches` per step (weights cast on one of them). */
export function smallFp8Layer(o: { recipe?: Fp8Recipe; fp8Attention?: boolean; microBatches: number; gradAccumulationFusion: boolean }): LayerShape {
  return {
    model: SMALL_FP8_MODEL,
    microBatch: 1,
    seqLength: 2048,
    tp: 1,
    cp: 1,
    ep: 1,
    sequenceParallel: false,
    attention: "flash",
    elementBytes: 2,
    gradBytes: 4,
    gradAccumulationFusion: o.gradAccumulationFusion,
    gradAccumulateShare: 0,
    ...(o.recipe ? { fp8: fp8Settings(o.recipe, o.fp8Attention ?? false, o.microBatches) } : {}),
  };
}
