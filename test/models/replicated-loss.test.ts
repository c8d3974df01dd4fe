/**
 * parallelism.lossParallel false (DTensor ColwiseParallel with a replicated output, as
 * KempnerForge runs its output layer): the logits are all-gathered over the tensor ranks and
 * every rank runs the loss over the whole vocabulary. Hand-computed kernel bytes and collectives,
 * and the step-time bounds that follow.
 */
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../experiments/load.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import type { ModelSpec, Scenario } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";
import { headKernels, type LayerShape } from "../../models/workload/layer-kernels.ts";
import { layerShape } from "../../models/workload/memory.ts";
import { testLayerShape } from "../helpers/layer-shape.ts";
import { IDEAL_ACCELERATOR, scenario, TINY_MODEL } from "../helpers/scenario.ts";

const llama8b = BUILTIN_MODELS["llama3-8b"] as ModelSpec;

describe("replicated loss kernels by hand", () => {
  // KempnerForge experiment 05: Llama 3 8B, tp 4, batch 4 × 4096 tokens, bf16, sequence parallel.
  const shape = (replicated: boolean): LayerShape =>
    testLayerShape({ model: llama8b, microBatch: 4, seqLength: 4096, tp: 4, ...(replicated ? { replicatedLoss: true as const } : {}) });
  const T = 4 * 4096;
  const V = llama8b.vocab;
  const loss = (x: LayerShape, direction: "forward" | "backward"): number => headKernels(x, direction).kernels.find((k) => k.name.startsWith("cross-entropy"))!.bytes;

  it("forward: the logits' all-gather (tokens × vocabulary × 2 bytes) replaces the vocab-parallel all-reduces", () => {
    const tp = headKernels(shape(true), "forward").collectives;
    // The sequence-parallel gather of the final norm's output, then the logits' gather.
    expect(tp).toEqual([
      { op: "all-gather", group: "tp", bytes: 2 * T * llama8b.hidden, count: 1 },
      { op: "all-gather", group: "tp", bytes: 2 * T * V, count: 1 },
    ]);
    // 16,384 tokens × 128,256 entries × 2 bytes = 4.2 GB gathered per micro-batch.
    expect(2 * T * V).toBe(4_202_692_608);
    const vocabParallel = headKernels(shape(false), "forward").collectives;
    expect(vocabParallel[1]).toEqual({ op: "all-reduce", group: "tp", bytes: 3 * 4 * T, count: 1 });
  });

  it("the loss passes cover the whole vocabulary on every rank: tp times the vocab-parallel bytes", () => {
    // bf16: 38 bytes per logit forward, 14 backward (Megatron's fp32 passes, flops-memory.test.ts).
    expect(loss(shape(true), "forward")).toBe(38 * T * V);
    expect(loss(shape(true), "backward")).toBe(14 * T * V);
    expect(loss(shape(false), "forward")).toBe((38 * T * V) / 4);
    // The output GEMM stays column-parallel: vocab / tp columns either way.
    const gemm = (x: LayerShape): number => headKernels(x, "forward").kernels.find((k) => k.name === "logits")!.flops;
    expect(gemm(shape(true))).toBe(gemm(shape(false)));
    expect(gemm(shape(true))).toBe(2 * T * (V / 4) * llama8b.hidden);
  });

  it("backward: no collective beyond the sequence-parallel reduce-scatter (Replicate → Shard is a local chunk)", () => {
    expect(headKernels(shape(true), "backward").collectives).toEqual(headKernels(shape(false), "backward").collectives);
  });
});

describe("replicated loss in the step", () => {
  // HBM and NVLink finite so that both the loss passes and the gather cost time.
  const hbm = 2e12;
  const link = 100e9;
  const gpu: Accelerator = { ...IDEAL_ACCELERATOR, hbmBandwidth: hbm, scaleUpBandwidth: link };
  const model: ModelSpec = { ...TINY_MODEL, layers: 2, vocab: 65536 };
  const run = (tp: number, lossParallel: boolean): Scenario => {
    const s = scenario({ gpu, nodes: 1, gpusPerNode: 4, model, seqLength: 2048, globalBatch: 4 / tp, gpuVariability: 0, plan: { tp, dp: 4 / tp, microBatch: 1 } });
    return { ...s, parallelism: { ...s.parallelism, lossParallel } };
  };

  it("does nothing without tensor parallelism", () => {
    expect(layerShape(run(1, false)).replicatedLoss).toBeUndefined();
    expect(simulateStep(run(1, false)).stepSeconds).toBe(simulateStep(run(1, true)).stepSeconds);
  });

  it("tp 4: the step grows by at least the extra loss traffic plus the gather's bytes over the link", () => {
    const T = 2048;
    const V = model.vocab;
    // The loss passes on the 3/4 of the vocabulary this rank did not hold: (38 + 14) bytes per logit.
    const lossHbm = ((38 + 14) * T * V * (3 / 4)) / hbm;
    // Each rank receives the other three quarters of the bf16 logits; no link moves them faster.
    const gather = (2 * T * V * (3 / 4)) / link;
    expect(lossHbm).toBeCloseTo(2.617e-3, 5);
    expect(gather).toBeCloseTo(2.013e-3, 5);
    const delta = simulateStep(run(4, false)).stepSeconds - simulateStep(run(4, true)).stepSeconds;
    // Less the two vocab-parallel all-reduces of 12 bytes per token no longer run (a few µs).
    expect(delta).toBeGreaterThan(lossHbm + gather - 20e-6);
    // And not more than the loss traffic plus the gather at a quarter of the link's rate.
    expect(delta).toBeLessThan(lossHbm + 4 * gather);
  });
});

describe("the KempnerForge cases state how their loss and attention ran", () => {
  it("replicated logits under tensor parallelism, cuDNN's attention (their own H200 profile)", () => {
    const s = loadScenario("experiments/published/kempnerforge2026/05-7b-4gpu-tp4.yaml");
    expect(s.parallelism.lossParallel).toBe(false);
    expect(layerShape(s).replicatedLoss).toBe(true);
    expect(s.workload.attentionBackend).toBe("cudnn");
  });
});
