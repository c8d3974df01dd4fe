/**
 * The per-GPU peak by backward phase and XLA's per-tensor FSDP gathering (peak-phases.ts), and
 * workload.lossChunks: hand-computed bytes.
 */
import { describe, expect, it } from "vitest";
import type { ModelSpec, Scenario } from "../../models/scenario.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";
import { layerActivationBytes, layerShape, lossBytes, memoryByStage } from "../../models/workload/memory.ts";
import { layerParamsPerRank, paramsPerLayer } from "../../models/workload/params.ts";
import { largestLayerTensor, peakPhase, summedPhases, xlaGatheredBytes } from "../../models/workload/peak-phases.ts";
import { loadScenario } from "../../experiments/load.ts";
import { scenario, TINY_MODEL } from "../helpers/scenario.ts";

describe("largestLayerTensor", () => {
  it("is one MLP matrix of a dense layer: Llama 3.1 405B, 16,384 x 53,248", () => {
    const dims = { headsPerRank: 128, qkHeadDim: 128, vHeadDim: 128, ffnPerRank: 53248 };
    expect(largestLayerTensor(BUILTIN_MODELS["llama3-405b"] as ModelSpec, dims, { tp: 1, ep: 1 })).toBe(872_415_232);
    // The query projection wins when it is larger than the MLP's matrices: 32 heads of 256 over h = 1024, ffn 1024.
    expect(largestLayerTensor({ ...TINY_MODEL, hidden: 1024, ffn: 1024 }, { headsPerRank: 32, qkHeadDim: 256, vHeadDim: 256, ffnPerRank: 1024 }, { tp: 1, ep: 1 })).toBe(1024 * 32 * 256);
  });

  it("is a stacked expert matrix of a MoE layer: Mixtral 8x7B, 8 x 4,096 x 14,336, split by ep", () => {
    const mixtral = BUILTIN_MODELS["mixtral-8x7b"] as ModelSpec;
    const dims = { headsPerRank: 32, qkHeadDim: 128, vHeadDim: 128, ffnPerRank: 14336 };
    expect(largestLayerTensor(mixtral, dims, { tp: 1, ep: 1 })).toBe(469_762_048);
    expect(largestLayerTensor(mixtral, dims, { tp: 1, ep: 8 })).toBe(4096 * 14336);
  });
});

describe("xlaGatheredBytes", () => {
  it("holds each unit's parameters and two copies of its largest tensor's gradient, in the compute dtype", () => {
    expect(xlaGatheredBytes([100, 10], [40, 5], 2)).toEqual([(100 + 2 * 40) * 2, (10 + 2 * 5) * 2]);
  });
});

describe("peakPhase and summedPhases", () => {
  const parts = { loss: 50, gatheredAtLoss: 10, transient: 30, gatheredAtLayers: 20 };
  it("picks the larger phase: the loss with the output layer's unit, or the transient set with a block's", () => {
    expect(peakPhase(parts)).toEqual({ activations: 50, gathered: 10 });
    expect(peakPhase({ ...parts, transient: 45 })).toEqual({ activations: 45, gathered: 20 });
    // The embedding's unit runs after every block, with neither the loss nor the transient set.
    expect(peakPhase({ ...parts, gatheredAtEmbedding: 70 })).toEqual({ activations: 0, gathered: 70 });
  });
  it("the plain sum counts both activation parts and the largest unit", () => {
    expect(summedPhases({ ...parts, gatheredAtEmbedding: 15 })).toEqual({ activations: 80, gathered: 20 });
  });
});

/** TINY_MODEL (8 layers, h 4096, ffn 16384, no biases) with a 32,768 vocabulary, ZeRO-3 over 8 chips, remat full. */
function remat(gpu: string, vocab: number, extra: Partial<Scenario["workload"]> = {}): Scenario {
  const s = scenario({ gpu, nodes: 2, gpusPerNode: 4, model: { ...TINY_MODEL, vocab }, seqLength: 2048, globalBatch: 8, plan: { dp: 8, zero: 3, recompute: "full", gradReduceDtype: "fp32" } });
  return { ...s, workload: { ...s.workload, ...extra }, parallelism: { ...s.parallelism, remat: { policy: "full" } } };
}

describe("XLA (TPU v5p) peak", () => {
  const U = paramsPerLayer(TINY_MODEL); // 12h² + 2h = 201,334,784
  const FFN = 4096 * 16384; // the largest tensor of a block
  const stored = 8 * 2 * 2048 * 4096; // remat full: each layer's bf16 input

  it("the layer phase: one block gathered, two of its largest gradients, the transient set without the loss", () => {
    const s = remat("TPU-v5p", 8);
    const row = memoryByStage(s)[0]!;
    expect(row.gatheredUnits).toBe((U + 2 * FFN) * 2); // 671,105,024
    const transient = layerActivationBytes(layerShape(s), "none"); // none − the input kept + the input again
    expect(row.activations).toBe(stored + transient);
    // The same run on H100 sums both (loss: 6 bytes per logit) with FSDP2's units (two gathered, two gradients).
    const gpu = memoryByStage(remat("H100-SXM", 8))[0]!;
    expect(gpu.activations).toBe(stored + transient + 6 * 2048 * 8);
    expect(gpu.gatheredUnits).toBe(2 * U * 2 + U * 2 + U * 4);
  });

  it("the loss phase: the output layer's table gathered with two copies of its gradient, the logits, no transient set", () => {
    const s = remat("TPU-v5p", 65536);
    const row = memoryByStage(s)[0]!;
    const head = 65536 * 4096 + 4096; // table + final norm
    const loss = 6 * 2048 * 65536; // 805,306,368
    expect(lossBytes(s, layerShape(s))).toBe(loss);
    expect(row.gatheredUnits).toBe((head + 2 * 65536 * 4096) * 2);
    expect(row.activations).toBe(stored + loss);
  });

  it("lossChunks divides the loss's bytes: MaxText's num_vocab_tiling 4", () => {
    const s = remat("TPU-v5p", 65536, { lossChunks: 4 });
    expect(lossBytes(s, layerShape(s))).toBe((6 * 2048 * 65536) / 4);
  });
});

describe("published MaxText runs on v5p fit in 95 GiB", () => {
  it("Llama 3.1 405B on 512 chips: the layer phase, one 405B block gathered", () => {
    const s = loadScenario("experiments/published/maxtext-v5p/llama3.1-405b-512chips.yaml");
    const row = memoryByStage(s)[0]!;
    const m = BUILTIN_MODELS["llama3-405b"] as ModelSpec;
    expect(row.gatheredUnits).toBe((paramsPerLayer(m) + 2 * 16384 * 53248) * 2);
    // 126 bf16 layer inputs of 2 x 8192 tokens stay on device (decoder_layer_input): 63 GiB.
    expect(126 * 2 * 16384 * 16384).toBe(63 * 2 ** 30);
    expect(row.total).toBeLessThan(95 * 2 ** 30);
  });

  it("DeepSeek-V3 on 512 chips: a MoE block (256 experts, no expert parallelism) gathered, not the dense blocks' average", () => {
    const s = loadScenario("experiments/published/tpu-recipes-v5p/deepseek-v3-512chips.yaml");
    const row = memoryByStage(s)[0]!;
    const moe = layerParamsPerRank(s.workload.model, s.parallelism);
    expect(moe.expert).toBe(256 * 3 * 7168 * 2048);
    expect(row.gatheredUnits).toBe((moe.dense + moe.expert + 2 * 256 * 7168 * 2048) * 2);
    // Layer inputs and out_proj live on the host: no layer keeps anything on device.
    expect(row.total).toBeLessThan(95 * 2 ** 30);
  });
});
